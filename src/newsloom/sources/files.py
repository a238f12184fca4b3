"""Local files as sources: HTML pages, flattened page text, and JSONL/CSV exports of articles.

    page.html / .htm (gzipped too)   -> RawDocument (text/html)
    page.txt (gzipped too)           -> RawDocument (text/plain: a flattened page)
    crawl.warc / .warc.gz / .wet.gz  -> RawDocuments: HTML responses and WET text records (warc.py)
    articles.jsonl / .csv (gz too)   -> Article records (already extracted: url, title, text, published_at, source)

A folder is walked in sorted order, so two runs over the same folder see the same order. Every item carries the
path it came from, and a bad file or line becomes a ``SourceError`` item that the pipeline reports and skips:
one broken file never stops an ingest.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ..errors import InputError, InputTooLargeError, UnsupportedInputError
from ..model import Article, RawDocument, article_id_for
from ..urls import canonicalize_url, site_of

__all__ = [
    "SourceError",
    "SourceItem",
    "iter_input_files",
    "read_documents",
    "read_path",
    "article_from_record",
    "MAX_FILE_BYTES",
    "HTML_SUFFIXES",
    "TEXT_SUFFIXES",
    "RECORD_SUFFIXES",
    "ARCHIVE_SUFFIXES",
    "is_archive",
]

MAX_FILE_BYTES = 50 * 1024 * 1024
HTML_SUFFIXES = (".html", ".htm", ".xhtml")
TEXT_SUFFIXES = (".txt",)
RECORD_SUFFIXES = (".jsonl", ".ndjson", ".csv")
ARCHIVE_SUFFIXES = (".warc", ".wet", ".arc")  # read by warc.py; gzipped or not
_ALL_SUFFIXES = HTML_SUFFIXES + TEXT_SUFFIXES + RECORD_SUFFIXES + ARCHIVE_SUFFIXES


@dataclass(slots=True)
class SourceError:
    """A file or record that could not be read; the ingest goes on without it."""

    source: str
    message: str


SourceItem = RawDocument | Article | SourceError


def _base_suffix(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    return os.path.splitext(name)[1]


def is_archive(path: Path) -> bool:
    """A WARC/WET/ARC web archive (gzipped or not)."""
    return _base_suffix(path) in ARCHIVE_SUFFIXES


def iter_input_files(paths: list[str | Path]) -> Iterator[Path]:
    """The readable input files under ``paths``, folders walked in sorted order, hidden files skipped."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    candidate = Path(root) / name
                    if not name.startswith(".") and _base_suffix(candidate) in _ALL_SUFFIXES:
                        yield candidate
        else:
            yield path


def _read_bytes(path: Path) -> bytes:
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise InputTooLargeError(f"{path}: {size} bytes is over the {MAX_FILE_BYTES}-byte limit for one file")
    data = path.read_bytes()
    if path.name.lower().endswith(".gz"):
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
                # Read one byte past the limit: a gzip bomb is stopped there instead of filling memory.
                data = stream.read(MAX_FILE_BYTES + 1)
        except (OSError, EOFError) as exc:
            raise InputError(f"{path}: not a readable gzip file ({exc})") from exc
        if len(data) > MAX_FILE_BYTES:
            raise InputTooLargeError(f"{path}: decompresses to over {MAX_FILE_BYTES} bytes")
    return data


def _parse_datetime(value: object) -> datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ValueError(f"published_at must be an ISO 8601 string, not {type(value).__name__}")
    text = value.strip().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"published_at {value!r} is not an ISO 8601 date") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def article_from_record(record: dict, source: str) -> Article:
    """An Article from one JSONL/CSV record with fields url, title, text, published_at, source (text required)."""
    if not isinstance(record, dict):
        raise ValueError("each record must be a JSON object")
    text = record.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("record has no 'text'")
    title = record.get("title") or ""
    if not isinstance(title, str):
        raise ValueError("'title' must be a string")
    url = record.get("url") or None
    if url is not None and not isinstance(url, str):
        raise ValueError("'url' must be a string")
    canonical = canonicalize_url(url)
    paragraphs = [" ".join(block.split()) for block in text.replace("\r\n", "\n").split("\n\n")]
    paragraphs = [p for p in paragraphs if p]
    if len(paragraphs) == 1 and "\n" in text.strip():
        # One-sentence-per-line exports: treat each line as a paragraph.
        paragraphs = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
    if not title:
        title = paragraphs[0][:200]
    published_at = _parse_datetime(record.get("published_at"))
    return Article(
        id=str(record.get("id") or article_id_for(canonical, "\n\n".join(paragraphs))),
        title=" ".join(title.split()),
        paragraphs=paragraphs,
        url=url,
        canonical_url=canonical,
        site=site_of(url) or (record.get("source") if isinstance(record.get("source"), str) else None),
        author=record.get("author") if isinstance(record.get("author"), str) else None,
        published_at=published_at,
        published_at_source="input" if published_at else "unknown",
        published_at_confidence=1.0 if published_at else 0.0,
        language=record.get("language") if isinstance(record.get("language"), str) else None,
        source=source,
    )


def _read_records(path: Path) -> Iterator[SourceItem]:
    data = _read_bytes(path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        yield SourceError(str(path), f"not UTF-8 text ({exc.reason} at byte {exc.start})")
        return
    suffix = _base_suffix(path)
    if suffix == ".csv":
        reader = csv.DictReader(io.StringIO(text, newline=""))
        try:
            for line_number, row in enumerate(reader, start=2):
                try:
                    yield article_from_record(dict(row), f"{path}:{line_number}")
                except ValueError as exc:
                    yield SourceError(f"{path}:{line_number}", str(exc))
        except csv.Error as exc:
            yield SourceError(str(path), f"malformed CSV: {exc}")
        return
    for line_number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            yield article_from_record(record, f"{path}:{line_number}")
        except (ValueError, RecursionError) as exc:
            yield SourceError(f"{path}:{line_number}", f"bad record: {exc}")


def read_path(path: Path) -> Iterator[SourceItem]:
    """The items of one input file."""
    suffix = _base_suffix(path)
    try:
        if not path.exists():
            raise InputError(f"{path}: no such file or folder")
        if suffix in RECORD_SUFFIXES:
            yield from _read_records(path)
        elif suffix in ARCHIVE_SUFFIXES:
            from .warc import warc_items  # warc.py builds on this module

            yield from warc_items(path)
        elif suffix in HTML_SUFFIXES:
            yield RawDocument(_read_bytes(path), "text/html", source=str(path))
        elif suffix in TEXT_SUFFIXES:
            yield RawDocument(_read_bytes(path), "text/plain", source=str(path))
        else:
            raise UnsupportedInputError(
                f"{path}: unsupported file type {suffix or '(none)'}; newsloom reads "
                + ", ".join(_ALL_SUFFIXES)
                + " (optionally .gz)"
            )
    except (InputError, OSError) as exc:
        yield SourceError(str(path), str(exc))


def read_documents(paths: list[str | Path]) -> Iterator[SourceItem]:
    """All items under ``paths``, in a stable order."""
    for path in iter_input_files(paths):
        yield from read_path(path)
