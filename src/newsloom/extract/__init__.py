"""Extraction: a RawDocument in, a clean Article out.

    extract(doc)          dispatches on the content type
    extract_html(...)     HTML pages (html.py: body; metadata.py: title, author, image...; dates.py: dates)
    extract_text(...)     flattened page text, as crawlers dump it (text.py)
"""

from __future__ import annotations

from ..model import Article, RawDocument
from .html import extract_html
from .text import extract_text

__all__ = ["extract", "extract_html", "extract_text"]


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
