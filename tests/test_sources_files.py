"""Local file sources: what is read, in what order, and how bad files are reported without stopping a run."""

from __future__ import annotations

import gzip
import json

from newsloom.model import Article, RawDocument
from newsloom.sources.files import SourceError, article_from_record, read_documents


def test_folder_walk_is_sorted_and_filters_types(tmp_path):
    (tmp_path / "b.html").write_text("<html><body><p>b</p></body></html>")
    (tmp_path / "a.txt").write_text("Headline\n\nBody.")
    (tmp_path / "c.html.gz").write_bytes(gzip.compress(b"<p>c</p>"))
    (tmp_path / "notes.pdf").write_bytes(b"%PDF")
    (tmp_path / ".hidden.html").write_text("x")
    items = list(read_documents([tmp_path]))
    assert [type(i) for i in items] == [RawDocument, RawDocument, RawDocument]
    assert [i.source.rsplit("/", 1)[1] for i in items] == ["a.txt", "b.html", "c.html.gz"]
    assert items[0].content_type == "text/plain" and items[2].content == b"<p>c</p>"


def test_jsonl_records_become_articles_and_bad_lines_are_reported(tmp_path):
    path = tmp_path / "articles.jsonl"
    lines = [
        json.dumps({"url": "https://news.example/a?utm_source=x", "title": "A", "text": "One.\n\nTwo.",
                    "published_at": "2024-03-25T10:00:00Z", "source": "wire"}),
        "{not json",
        json.dumps({"title": "no text"}),
        json.dumps({"text": "Body only.", "published_at": "yesterday"}),
        json.dumps(["a", "list"]),
    ]
    path.write_text("\n".join(lines) + "\n")
    items = list(read_documents([path]))
    article = items[0]
    assert isinstance(article, Article)
    assert article.paragraphs == ["One.", "Two."]
    assert article.canonical_url == "https://news.example/a"
    assert article.published_at_source == "input" and article.published_at.year == 2024
    errors = items[1:]
    assert all(isinstance(e, SourceError) for e in errors)
    assert [e.source.rsplit(":", 1)[1] for e in errors] == ["2", "3", "4", "5"]
    assert "ISO 8601" in errors[2].message


def test_csv_records(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text('url,title,text,published_at,source\nhttps://x.example/1,T,"Para one.\n\nPara two.",,src\n')
    (article,) = read_documents([path])
    assert article.title == "T" and article.paragraphs == ["Para one.", "Para two."]
    assert article.published_at is None and article.published_at_source == "unknown"


def test_unreadable_inputs_are_errors_not_crashes(tmp_path):
    (tmp_path / "broken.html.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    (tmp_path / "x.docx").write_bytes(b"PK")
    (tmp_path / "latin1.jsonl").write_bytes('{"text": "caf\xe9"}'.encode("latin-1"))
    items = list(read_documents([tmp_path, tmp_path / "missing.html", tmp_path / "x.docx"]))
    assert all(isinstance(i, SourceError) for i in items), items
    messages = " | ".join(i.message for i in items)
    assert "gzip" in messages and "UTF-8" in messages and "no such file" in messages and "unsupported" in messages


def test_ids_are_stable_across_reads(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps({"text": "Same text here."}) + "\n")
    first = next(iter(read_documents([path])))
    second = next(iter(read_documents([path])))
    assert first.id == second.id


def test_record_validation():
    article = article_from_record({"text": "Line one\nLine two\nLine three"}, "x")
    assert article.paragraphs == ["Line one", "Line two", "Line three"]
    assert article.title == "Line one"
