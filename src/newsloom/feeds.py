"""Atom 1.0 feeds of articles (RFC 4287), for the reader's "Subscribe" links.

    render_atom_feed(AtomFeed(...), articles) -> str (an XML document)

The feed is built with ElementTree, so every title, summary and URL is XML-escaped by the serialiser; characters that
XML 1.0 forbids (control characters that may survive in stored text) are removed first, because an escaped control
character is still not well-formed XML. Entry links point to the reader's own article page; the original page, when it
has an http(s) URL, is a ``rel="related"`` link. Articles without a publication date carry no ``<published>``: the
required ``<updated>`` then falls back to when newsloom fetched the page, never to an invented publication date.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urlsplit

from .model import Article

__all__ = ["AtomFeed", "render_atom_feed", "ATOM_MEDIA_TYPE", "article_excerpt", "body_without_headline", "is_http_url"]

ATOM_MEDIA_TYPE = "application/atom+xml"
_ATOM_NS = "http://www.w3.org/2005/Atom"
_SUMMARY_CHARS = 400

# Characters XML 1.0 does not allow, even escaped (C0 controls except tab/newline/return, surrogates, U+FFFE/FFFF).
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(slots=True)
class AtomFeed:
    """What describes a feed as a whole. ``feed_id`` must be a stable IRI: the feed's own URL serves."""

    feed_id: str
    title: str
    self_url: str
    alternate_url: str | None = None
    subtitle: str | None = None
    generator: str = "newsloom"


def is_http_url(url: str | None) -> bool:
    """True for an absolute http(s) URL with a host: the only URLs that may become links."""
    if not url or any(ch.isspace() or ord(ch) < 32 for ch in url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def body_without_headline(article: Article) -> list[str]:
    """The body's paragraphs, less a first one that only repeats the headline (some sources start the text with it)."""
    paragraphs = article.paragraphs
    if paragraphs and " ".join(paragraphs[0].split()).casefold() == " ".join(article.title.split()).casefold():
        return paragraphs[1:]
    return paragraphs


def article_excerpt(article: Article, limit: int = _SUMMARY_CHARS) -> str:
    """The summary when there is one, else the body's opening cut at a word boundary."""
    text = article.summary or " ".join(body_without_headline(article)[:2])
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",;:.") + "…"


def _clean(text: str) -> str:
    return _XML_FORBIDDEN.sub("", text)


def _aware(value: datetime) -> datetime:
    # Stored dates without a zone are UTC by the store's convention.
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def _timestamp(value: datetime) -> str:
    return _aware(value).astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _entry_time(article: Article) -> datetime | None:
    return article.published_at or article.fetched_at


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{_ATOM_NS}}}{tag}", {k: _clean(v) for k, v in attributes.items()})
    if text is not None:
        element.text = _clean(text)
    return element


def render_atom_feed(
    feed: AtomFeed,
    articles: Sequence[Article],
    article_url: Callable[[Article], str],
    now: datetime | None = None,
) -> str:
    """An Atom 1.0 document listing ``articles`` in the order given.

    ``article_url`` maps an article to the absolute URL of its page in the reader (the entry's main link).
    The feed's ``<updated>`` is the newest entry time, or ``now`` when no entry has a time.
    """
    ET.register_namespace("", _ATOM_NS)
    generated_at = now or datetime.now(timezone.utc)
    entry_times = [t for t in (_entry_time(a) for a in articles) if t is not None]
    feed_updated = max(entry_times, key=_aware) if entry_times else generated_at

    root = ET.Element(f"{{{_ATOM_NS}}}feed")
    _sub(root, "id", feed.feed_id)
    _sub(root, "title", feed.title)
    if feed.subtitle:
        _sub(root, "subtitle", feed.subtitle)
    _sub(root, "updated", _timestamp(feed_updated))
    _sub(root, "link", rel="self", type=ATOM_MEDIA_TYPE, href=feed.self_url)
    if feed.alternate_url:
        _sub(root, "link", rel="alternate", type="text/html", href=feed.alternate_url)
    # A feed-level author satisfies Atom's rule that every entry has an author, even when the page named none.
    _sub(_sub(root, "author"), "name", feed.generator)
    _sub(root, "generator", feed.generator)

    for article in articles:
        _append_entry(root, article, article_url(article), feed_updated)
    return ET.tostring(root, encoding="unicode", xml_declaration=True)


def _append_entry(root: ET.Element, article: Article, page_url: str, fallback_updated: datetime) -> None:
    entry = _sub(root, "entry")
    _sub(entry, "id", f"urn:newsloom:article:{article.id}")
    _sub(entry, "title", article.title or "(untitled)")
    _sub(entry, "updated", _timestamp(_entry_time(article) or fallback_updated))
    if article.published_at is not None:
        _sub(entry, "published", _timestamp(article.published_at))
    if article.author:
        _sub(_sub(entry, "author"), "name", article.author)
    _sub(entry, "link", rel="alternate", type="text/html", href=page_url)
    if is_http_url(article.url):
        _sub(entry, "link", rel="related", type="text/html", href=article.url or "")
    if article.site:
        _sub(entry, "category", term=article.site)
    summary = article_excerpt(article)
    if summary:
        _sub(entry, "summary", summary, type="text")
