"""Fuzzing targets and mutators shared by tests/test_fuzz_parsers.py (hypothesis) and bench/fuzz.py (long run).

A target is one newsloom parser with its real seed inputs (the repository's fixtures) and a function that runs the
parser on bytes. The contract every target is checked against:

    the parser returns, or it raises a NewsloomError (documented in errors.py) with a non-empty message.

Anything else (IndexError, UnicodeDecodeError, RecursionError, lxml's own errors...) is a failure: a hostile input
could stop an ingest or a request with a traceback.

Mutations are byte-level and structure-aware at once: flips, inserts, deletes, duplicated and spliced ranges,
truncation, and a dictionary of hostile tokens (entity declarations, CDATA, NULs, BOMs, deep nesting, huge
numbers, WARC and HTTP headers). They are driven by an integer seed, so a failure is reproduced from (target, seed
input, ops).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import random
import tempfile
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache, lru_cache
from pathlib import Path

from newsloom.errors import NewsloomError

FIXTURES = Path(__file__).resolve().parent / "fixtures"
MAX_MUTATED_BYTES = 400_000  # keeps one input cheap; size limits are tested on purpose elsewhere

# Tokens that reach the corners of HTML, XML, JSON, CSV, WARC/HTTP and the query language.
HOSTILE_TOKENS: tuple[bytes, ...] = (
    b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>',
    b'<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
    b'<!DOCTYPE x [<!ENTITY % p SYSTEM "http://canary.invalid/x.dtd"> %p;]>',
    b"&xxe;", b"&a;", b"&#0;", b"&#x110000;", b"&#xD800;", b"&amp", b"&nbsp", b"&", b"&#",
    b"<![CDATA[", b"]]>", b"<!--", b"-->", b"<?xml version='1.0' encoding='utf-16'?>",
    b"<?xml version='1.0' encoding='bogus-8'?>", b"<?php ?>",
    b"\x00", b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf", b"\x1f\x8b", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80",
    b"<script>alert(1)</script>", b"<style>", b"<svg onload=alert(1)>", b"<meta charset='utf-32'>",
    b'<meta http-equiv="content-type" content="text/html; charset=x-unknown">',
    b'<script type="application/ld+json">{"@type":"NewsArticle","datePublished":"99999-99-99","author":[[[[',
    b'"datePublished": "2024-02-30T25:61:61+99:99"', b"<time datetime='-0001-01-01'>", b"0000-00-00",
    b"<div>" * 3000, b"<a href='javascript:alert(1)'>", b"<base href='data:,'>",
    b"<rss version='2.0'><channel><item><link>", b"<feed xmlns='http://www.w3.org/2005/Atom'><entry>",
    b"<urlset><url><loc>http://[::1", b"<sitemapindex><sitemap><loc>", b"<opml><body><outline xmlUrl='",
    b'{"version": "https://jsonfeed.org/version/1", "items": [', b"[" * 5000, b'{"a":' * 3000,
    b"1e999999", b"-0", b"99999999999999999999999", b"NaN", b"\"\"\"", b'\\u0000', b'\\ud800',
    b"\r\n\r\n", b"\n\n\n", b"\r", b"\t" * 100, b" " * 1000,
    b"WARC/1.0\r\n", b"WARC-Type: response\r\n", b"WARC-Type: conversion\r\n", b"Content-Length: 99999999999\r\n",
    b"Content-Length: -5\r\n", b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"ffffffff\r\n", b'"', b",", b'"",""\n', b"\n,,,,,\n", b"OR", b" OR ", b"-", b'-"', b"NEAR(", b"title:", b"*",
    b"^", b"(", b")", b"\xe2\x80\xae", b"\xe2\x80\xa8", b"\xf0\x9f\x92\xa9" * 50, b"\xd9\x85\xd8\xb1" * 50,
)


# -- mutators ------------------------------------------------------------------------------------------------------
def _flip(data: bytearray, rng: random.Random) -> None:
    for _ in range(rng.randint(1, 8)):
        if data:
            data[rng.randrange(len(data))] = rng.randrange(256)


def _insert_random(data: bytearray, rng: random.Random) -> None:
    at = rng.randint(0, len(data))
    data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))


def _insert_token(data: bytearray, rng: random.Random) -> None:
    at = rng.randint(0, len(data))
    data[at:at] = rng.choice(HOSTILE_TOKENS) * rng.choice((1, 1, 1, 2, 10))


def _delete(data: bytearray, rng: random.Random) -> None:
    if data:
        start = rng.randrange(len(data))
        del data[start:start + rng.randint(1, max(1, len(data) // 4))]


def _duplicate(data: bytearray, rng: random.Random) -> None:
    if data:
        start = rng.randrange(len(data))
        chunk = bytes(data[start:start + rng.randint(1, 2000)])
        at = rng.randint(0, len(data))
        data[at:at] = chunk * rng.randint(1, 20)


def _truncate(data: bytearray, rng: random.Random) -> None:
    if data:
        del data[rng.randrange(len(data)):]


def _swap_case(data: bytearray, rng: random.Random) -> None:
    if data:
        start = rng.randrange(len(data))
        end = min(len(data), start + rng.randint(1, 200))
        data[start:end] = bytes(data[start:end]).swapcase()


def _replace_line(data: bytearray, rng: random.Random) -> None:
    lines = bytes(data).split(b"\n")
    index = rng.randrange(len(lines))
    lines[index] = rng.choice(HOSTILE_TOKENS) if rng.random() < 0.5 else lines[rng.randrange(len(lines))]
    data[:] = b"\n".join(lines)


MUTATORS: tuple[Callable[[bytearray, random.Random], None], ...] = (
    _flip, _insert_random, _insert_token, _insert_token, _delete, _duplicate, _truncate, _swap_case, _replace_line,
)


def mutate(seed: bytes, ops: Sequence[tuple[int, int]], other: bytes | None = None) -> bytes:
    """``seed`` after ``ops``: (mutator index, random seed) pairs; ``other`` is spliced in by one op kind."""
    data = bytearray(seed)
    for which, op_seed in ops:
        rng = random.Random(op_seed)
        if other is not None and which % (len(MUTATORS) + 1) == len(MUTATORS):
            cut = rng.randint(0, len(data))
            start = rng.randint(0, len(other))
            data[cut:] = other[start:start + rng.randint(1, 20_000)]
        else:
            MUTATORS[which % len(MUTATORS)](data, rng)
        if len(data) > MAX_MUTATED_BYTES:
            del data[MAX_MUTATED_BYTES:]
    return bytes(data)


def random_ops(rng: random.Random) -> list[tuple[int, int]]:
    # Mostly one or two operations: the input stays close enough to its format to reach the deeper code paths.
    count = rng.choice((1, 1, 1, 1, 2, 2, 3, 4, 6))
    return [(rng.randrange(len(MUTATORS) + 1), rng.randrange(2**32)) for _ in range(count)]


# -- seeds (real fixtures) -----------------------------------------------------------------------------------------
def _read(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.name.endswith(".gz") else data


@cache
def html_seeds() -> tuple[bytes, ...]:
    pages = [_read(p) for p in sorted((FIXTURES / "html" / "scrapinghub").glob("*.html*"))]
    # Pages are 10-200 kB; the smaller ones keep the run fast, the biggest two keep the real sizes in play.
    pages.sort(key=len)
    return tuple(pages[:8] + pages[-2:])


@cache
def text_seeds() -> tuple[bytes, ...]:
    return tuple(_read(p) for p in sorted((FIXTURES / "text").rglob("*.txt")))


@cache
def feed_seeds() -> tuple[bytes, ...]:
    names = ("atom.xml", "rss091.xml", "rss1-rdf.xml", "rss2.xml", "jsonfeed.json", "billion-laughs.xml",
             "external-entity.xml")
    return tuple(_read(FIXTURES / "sources" / name) for name in names)


@cache
def sitemap_seeds() -> tuple[bytes, ...]:
    xml = [_read(FIXTURES / "sources" / name) for name in ("sitemap.xml", "news-sitemap.xml")]
    index = (b'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
             b"<sitemap><loc>https://news.example.org/sitemap-1.xml</loc></sitemap>"
             b"<sitemap><loc>https://news.example.org/sitemap-2.xml.gz</loc></sitemap></sitemapindex>")
    text = b"https://news.example.org/a.html\nhttps://news.example.org/b.html\n"
    return tuple(xml + [index, text, gzip.compress(xml[1])])


@cache
def opml_seeds() -> tuple[bytes, ...]:
    return (_read(FIXTURES / "sources" / "feeds.opml"),)


def _records() -> list[dict]:
    path = FIXTURES / "news" / "ecbplus-sample.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@cache
def jsonl_seeds() -> tuple[bytes, ...]:
    records = _records()[:4]
    lines = [json.dumps({"url": r.get("url"), "title": r.get("title"), "text": r["text"],
                         "published_at": "2024-03-26T08:00:00Z"}) for r in records]
    return ("\n".join(lines).encode("utf-8"), (FIXTURES / "news" / "ecbplus-sample.jsonl").read_bytes()[:20_000])


@cache
def csv_seeds() -> tuple[bytes, ...]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["url", "title", "text", "published_at", "source"])
    writer.writeheader()
    for r in _records()[:4]:
        writer.writerow({"url": r.get("url"), "title": r.get("title"), "text": r["text"],
                         "published_at": "2024-03-26", "source": "ecbplus"})
    return (buffer.getvalue().encode("utf-8"),)


@cache
def warc_seeds() -> tuple[bytes, ...]:
    from newsloom.sources.warc import WarcPage, write_warc

    crawled = datetime(2024, 3, 26, 8, 0, tzinfo=UTC)
    pages = [WarcPage(f"https://pages.example/{n}", page[:6000], crawled) for n, page in enumerate(html_seeds()[:3])]
    pages += [WarcPage(f"https://wet.example/{n}", text[:4000], crawled, wet=True) for n, text in enumerate(text_seeds()[:2])]
    pages.append(WarcPage("https://pages.example/gz", gzip.compress(html_seeds()[0][:3000]), crawled,
                          http_headers={"Content-Encoding": "gzip"}))
    seeds = []
    with tempfile.TemporaryDirectory() as folder:
        for name in ("seed.warc", "seed.warc.gz"):
            path = Path(folder) / name
            write_warc(path, pages)
            seeds.append(path.read_bytes())
    return tuple(seeds)


QUERY_SEEDS: tuple[bytes, ...] = tuple(q.encode("utf-8") for q in (
    'gaza ceasefire', '"security council" -football', 'rafah OR gaza', '-"exact phrase" words', 'netanyahu OR',
    'title:rafah NEAR(a b) *', '"unclosed', 'Zürich café 東京 مرحبا', '- OR -', 'a OR b OR c d -e -"f g"',
))


# -- running one input ---------------------------------------------------------------------------------------------
class _Scratch:
    """One temporary folder per process for the targets that read files (WARC, JSONL, CSV)."""

    folder: Path | None = None

    @classmethod
    def path(cls, name: str) -> Path:
        if cls.folder is None:
            cls.folder = Path(tempfile.mkdtemp(prefix="newsloom-fuzz-"))
        return cls.folder / name


def run_html(data: bytes) -> object:
    from newsloom.extract import extract_html

    return extract_html(data, url="https://fuzz.example/2024/03/26/page.html")


def run_text(data: bytes) -> object:
    from newsloom.extract import extract
    from newsloom.model import RawDocument

    # Through extract(): bytes are decoded first (decode.py), as for a .txt file or a WET record.
    return extract(RawDocument(data, "text/plain", url="https://fuzz.example/page"))


def run_feed(data: bytes) -> object:
    from newsloom.sources.feeds import parse_feed

    return parse_feed(data, url="https://fuzz.example/feed.xml")


def run_sitemap(data: bytes) -> object:
    from newsloom.sources.sitemaps import parse_sitemap

    return parse_sitemap(data, url="https://fuzz.example/sitemap.xml")


def run_opml(data: bytes) -> object:
    from newsloom.sources.feeds import parse_opml

    return parse_opml(data)


def _read_file_items(data: bytes, name: str) -> list[object]:
    from newsloom.model import Article
    from newsloom.sources.files import SourceError, read_path

    path = _Scratch.path(name)
    path.write_bytes(data)
    items = list(read_path(path))
    for item in items:  # read_path reports bad records as items, with a message; it never raises
        assert isinstance(item, (Article, SourceError)), type(item)
        if isinstance(item, SourceError):
            assert item.message.strip(), "a SourceError without a message"
    return items


def run_jsonl(data: bytes) -> object:
    return _read_file_items(data, "fuzz.jsonl")


def run_csv(data: bytes) -> object:
    return _read_file_items(data, "fuzz.csv")


def run_warc(data: bytes) -> object:
    from newsloom.sources.warc import iter_warc

    name = "fuzz.warc.gz" if data[:2] == b"\x1f\x8b" else "fuzz.warc"
    path = _Scratch.path(name)
    path.write_bytes(data)
    return list(iter_warc(path))


def run_query(data: bytes) -> object:
    from newsloom.search import parse_query, to_fts5_query

    text = data.decode("utf-8", errors="replace")
    parse_query(text)
    expression = to_fts5_query(text)
    _query_store().search(text, limit=3)  # user text never reaches FTS5 syntax: only QueryError, never StoreError
    return expression


@lru_cache(maxsize=1)
def _query_store():
    from newsloom.sources.files import article_from_record
    from newsloom.store import SQLiteStore

    store = SQLiteStore(":memory:")
    store.upsert_articles([article_from_record({"url": r.get("url"), "title": r.get("title"), "text": r["text"]}, "q")
                           for r in _records()])
    return store


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    seeds: Callable[[], tuple[bytes, ...]]
    run: Callable[[bytes], object]


TARGETS: tuple[Target, ...] = (
    Target("html", html_seeds, run_html),
    Target("flattened-text", text_seeds, run_text),
    Target("feed", feed_seeds, run_feed),
    Target("sitemap", sitemap_seeds, run_sitemap),
    Target("opml", opml_seeds, run_opml),
    Target("warc", warc_seeds, run_warc),
    Target("jsonl", jsonl_seeds, run_jsonl),
    Target("csv", csv_seeds, run_csv),
    Target("query", lambda: QUERY_SEEDS, run_query),
)
TARGETS_BY_NAME = {target.name: target for target in TARGETS}


def outcome_of(target: Target, data: bytes) -> tuple[str, str | None]:
    """("accepted", None), ("refused", the newsloom error's class name) or ("failure", what went wrong)."""
    try:
        target.run(data)
    except NewsloomError as exc:
        if not str(exc).strip():
            return "failure", f"{type(exc).__name__} without a message"
        return "refused", type(exc).__name__
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        described = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        return "failure", described + "\n" + "".join(traceback.format_tb(exc.__traceback__)[-3:])
    return "accepted", None


def failure_of(target: Target, data: bytes) -> str | None:
    """None when the parser returned or raised a documented error with a message; else what went wrong."""
    kind, detail = outcome_of(target, data)
    return detail if kind == "failure" else None
