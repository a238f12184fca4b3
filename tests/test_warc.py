"""WARC/WET reading: archives written by the test from real pages (tests/fixtures/html/scrapinghub, MIT) and the
flattened-page fixture; HTML responses and WET texts, resumable offsets, truncated and corrupt archives, extraction."""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

pytest.importorskip("fastwarc")

from newsloom.errors import InputError  # noqa: E402
from newsloom.extract import extract  # noqa: E402
from newsloom.model import RawDocument  # noqa: E402
from newsloom.sources.files import SourceError  # noqa: E402
from newsloom.sources.warc import WarcPage, iter_warc, warc_items, write_warc  # noqa: E402

FIXTURES = Path(__file__).resolve().parent / "fixtures"
PAGES_DIR = FIXTURES / "html" / "scrapinghub"
CRAWLED = datetime(2020, 1, 15, 12, 30, tzinfo=timezone.utc)


def real_pages(limit: int = 6) -> list[tuple[str, bytes]]:
    truth = json.loads((PAGES_DIR / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for item_id in sorted(truth)[:limit]:
        pages.append((truth[item_id]["url"], gzip.decompress((PAGES_DIR / f"{item_id}.html.gz").read_bytes())))
    return pages


def mixed_archive(path: Path) -> tuple[list[int], list[WarcPage]]:
    """Real HTML responses, with a 404, a redirect, an image and a WET text record among them."""
    pages = [WarcPage(url, html, CRAWLED) for url, html in real_pages()]
    flattened = (FIXTURES / "text" / "flattened-news-page.txt").read_bytes()
    pages.insert(2, WarcPage("https://example.org/missing", b"<html>not found</html>", CRAWLED, status=404))
    pages.insert(3, WarcPage("https://example.org/moved", b"", CRAWLED, status=301, http_headers={"Location": "/x"}))
    pages.insert(4, WarcPage("https://example.org/logo.png", b"\x89PNG\r\n\x1a\n", CRAWLED, content_type="image/png"))
    pages.append(WarcPage("https://example.org/flattened", flattened, CRAWLED, wet=True))
    return write_warc(path, pages), pages


@pytest.mark.parametrize("name", ["crawl.warc.gz", "crawl.warc"])
def test_html_responses_and_wet_records(tmp_path: Path, name: str) -> None:
    offsets, pages = mixed_archive(tmp_path / name)
    items = list(iter_warc(tmp_path / name))
    docs = [doc for _, doc in items]
    assert all(isinstance(d, RawDocument) for d in docs)
    html_docs = [d for d in docs if d.content_type == "text/html"]
    assert [d.url for d in html_docs] == [url for url, _ in real_pages()]  # 404, redirect and image skipped
    assert html_docs[0].content == real_pages(1)[0][1]
    assert html_docs[0].headers["content-type"] == "text/html; charset=utf-8"
    assert all(d.fetched_at == CRAWLED for d in docs)  # the WARC-Date, a fetch time
    wet = docs[-1]
    assert wet.content_type == "text/plain" and wet.url == "https://example.org/flattened"
    assert wet.content.startswith(b"Netanyahu Calls Off")
    # Offsets are the records' own, so a resume lands exactly on them.
    assert [offset for offset, _ in items] == [offsets[i] for i in (0, 1, 5, 6, 7, 8, 9)]
    assert docs[0].source == f"{tmp_path / name}@{offsets[0]}"


def test_resume_from_a_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "crawl.warc.gz"
    mixed_archive(path)
    full = [(offset, doc.url) for offset, doc in iter_warc(path)]
    committed = full[2][0]  # the pipeline committed the third document, then crashed
    resumed = [(offset, doc.url) for offset, doc in iter_warc(path, committed, include_start=False)]
    assert resumed == full[3:]
    assert [(o, d.url) for o, d in iter_warc(path, committed)] == full[2:]


def test_resume_at_a_wrong_offset_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "crawl.warc.gz"
    offsets, _ = mixed_archive(path)
    with pytest.raises(InputError, match="start offset"):
        list(iter_warc(path, offsets[1] + 7))
    with pytest.raises(InputError, match="outside"):
        list(iter_warc(path, 10**9))


@pytest.mark.parametrize("name", ["cut.warc.gz", "cut.warc"])
@pytest.mark.parametrize("where", ["mid-block", "in-headers"])
def test_truncated_archive_reads_records_before_the_cut(tmp_path: Path, name: str, where: str) -> None:
    path = tmp_path / name
    offsets, _ = mixed_archive(path)
    data = path.read_bytes()
    # Half-way into the fourth real page, or a few bytes into its WARC headers (FastWARC alone ends quietly there).
    cut_at = offsets[6] + ((offsets[7] - offsets[6]) // 2 if where == "mid-block" else 12)
    path.write_bytes(data[:cut_at])
    seen: list[int] = []
    with pytest.raises(InputError, match=r"truncated|unreadable") as info:
        for offset, _doc in iter_warc(path):
            seen.append(offset)
    assert seen == [offsets[0], offsets[1], offsets[5]]
    assert str(offsets[6]) in str(info.value) or str(offsets[5]) in str(info.value)
    assert "records before it were read" in str(info.value) or "truncated" in str(info.value)
    items = list(warc_items(path))  # the pipeline's view: the damage is one last SourceError
    assert [type(i) for i in items] == [RawDocument, RawDocument, RawDocument, SourceError]


@pytest.mark.parametrize("content", [b"", b"not a warc file at all\r\n" * 50, b"\x1f\x8b\x08\x00garbage" * 20,
                                     b"WARC/1.1\r\nContent-Length: 99999999999\r\n\r\nshort"])
def test_garbage_is_a_clear_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.warc.gz"
    path.write_bytes(content)
    try:
        items = list(iter_warc(path))
    except InputError:
        return
    assert items == []  # an empty file is an empty archive


def test_oversized_and_compressed_records(tmp_path: Path) -> None:
    html = real_pages(1)[0][1]
    pages = [
        WarcPage("https://example.org/gz", gzip.compress(html), CRAWLED, http_headers={"Content-Encoding": "gzip"}),
        WarcPage("https://example.org/badgz", b"\x1f\x8b\x08\x00broken", CRAWLED, http_headers={"Content-Encoding": "gzip"}),
        WarcPage("https://example.org/big", b"<html>" + b"x" * 2 * len(html), CRAWLED),
        WarcPage("https://example.org/after", html, CRAWLED),
    ]
    path = tmp_path / "enc.warc.gz"
    write_warc(path, pages)
    items = [doc for _, doc in iter_warc(path, max_record_bytes=len(html) + 4096)]
    assert isinstance(items[0], RawDocument) and items[0].content == html  # a gzip payload kept as sent is decoded
    assert isinstance(items[1], SourceError) and "decode" in items[1].message
    assert isinstance(items[2], SourceError) and "limit" in items[2].message
    assert isinstance(items[3], RawDocument) and items[3].url == "https://example.org/after"


def test_whole_path_extracts_articles_with_the_crawl_time_apart(tmp_path: Path) -> None:
    path = tmp_path / "crawl.warc.gz"
    mixed_archive(path)
    articles = [extract(doc) for _, doc in iter_warc(path)]
    assert len(articles) == 7
    for article in articles:
        assert article.fetched_at == CRAWLED and article.paragraphs
        assert article.published_at_source != "warc" and article.published_at != CRAWLED
    assert "Netanyahu" in articles[-1].title


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such"):
        list(iter_warc(tmp_path / "nope.warc.gz"))
