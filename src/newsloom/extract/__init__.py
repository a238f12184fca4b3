"""Extraction: a RawDocument in, a clean Article out.

    extract(doc)            dispatches on the content type
    extract_html(...)       HTML pages (html.py: body; metadata.py: title, author, image...; dates.py: dates)
    extract_text(...)       flattened page text, as crawlers dump it (text.py)
    extract_file(path)      one local file, HTML or flattened text
    extraction_record(a)    the JSON shape ``newsloom extract`` prints
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import InputError
from ..model import Article, RawDocument
from .html import extract_html
from .text import extract_text

__all__ = ["extract", "extract_file", "extract_html", "extract_text", "extraction_record", "analysis_record"]


def extract(doc: RawDocument) -> Article:
    """Extract the article from one raw document, HTML or flattened text."""
    if doc.content_type.startswith("text/plain"):
        content = doc.content
        if isinstance(content, bytes):
            from .decode import decode_bytes

            content = decode_bytes(content, doc.headers)
        article = extract_text(content, url=doc.url)
    else:
        article = extract_html(doc.content, url=doc.url, headers=doc.headers)
    article.source = doc.source
    article.fetched_at = doc.fetched_at
    return article


def extract_file(path: str | Path) -> Article:
    """Extract the article of one HTML (.html/.htm, gzipped too) or flattened-text (.txt) file."""
    from ..sources.files import SourceError, read_path

    items = list(read_path(Path(path)))
    if len(items) != 1 or not isinstance(items[0], RawDocument):
        if items and isinstance(items[0], SourceError):
            raise InputError(items[0].message)
        raise InputError(f"{path}: not a single HTML or text page (use ingest for JSONL/CSV)")
    return extract(items[0])


def extraction_record(article: Article) -> dict[str, Any]:
    """The fields ``newsloom extract`` prints for one page (dates in ISO 8601, null when unknown)."""
    return {
        "source": article.source,
        "url": article.url,
        "canonical_url": article.canonical_url,
        "site_name": article.site,
        "title": article.title,
        "author": article.author,
        "published_at": article.published_at.isoformat() if article.published_at else None,
        "published_at_source": article.published_at_source,
        "published_at_confidence": article.published_at_confidence,
        "language": article.language,
        "page_type": article.page_type,
        "image": article.image,
        "text": article.text,
        "teasers": [{"title": t.title, "excerpt": t.excerpt, "url": t.url} for t in article.teasers],
    }


def analysis_record(article: Article) -> dict[str, Any]:
    """The fields ``newsloom analyze`` prints: the extraction record plus what enrichment found."""
    record = extraction_record(article)
    record["language"] = article.language
    record["entities"] = [{"name": e.name, "type": e.type, "count": e.count} for e in article.entities]
    record["keyphrases"] = list(article.keyphrases)
    record["summary"] = article.summary
    return record
