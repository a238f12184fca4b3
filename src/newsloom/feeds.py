"""Feeds of articles for the reader's "Subscribe" links: Atom 1.0 (RFC 4287), RSS 2.0 and JSON Feed 1.1.

    render_atom_feed(AtomFeed(...), articles, article_url) -> str (an XML document)
    render_rss_feed(AtomFeed(...), articles, article_url)  -> str (an XML document)
    render_json_feed(AtomFeed(...), articles, article_url) -> str (a JSON document)
    render_feed("atom" | "rss" | "json", ...)             -> (body, media type)

The feed is built with ElementTree, so every title, summary and URL is XML-escaped by the serialiser; characters that
XML 1.0 forbids (control characters that may survive in stored text) are removed first, because an escaped control
character is still not well-formed XML. Entry links point to the reader's own article page; the original page, when it
has an http(s) URL, is a ``rel="related"`` link. Articles without a publication date carry no ``<published>``: the
required ``<updated>`` then falls back to when newsloom fetched the page, never to an invented publication date.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import format_datetime
from urllib.parse import urlsplit

from .model import Article

__all__ = [
    "AtomFeed", "render_atom_feed", "render_rss_feed", "render_json_feed", "render_feed", "FEED_FORMATS",
    "ATOM_MEDIA_TYPE", "RSS_MEDIA_TYPE", "JSON_FEED_MEDIA_TYPE", "article_excerpt", "body_without_headline",
    "is_http_url",
]

ATOM_MEDIA_TYPE = "application/atom+xml"
RSS_MEDIA_TYPE = "application/rss+xml"
JSON_FEED_MEDIA_TYPE = "application/feed+json"
# format name (also the URL suffix) -> media type
FEED_FORMATS: dict[str, str] = {"atom": ATOM_MEDIA_TYPE, "rss": RSS_MEDIA_TYPE, "json": JSON_FEED_MEDIA_TYPE}
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


# -- RSS 2.0 -------------------------------------------------------------------------------------------------------
_RSS_ATOM_NS = "http://www.w3.org/2005/Atom"  # for RSS's recommended <atom:link rel="self">
_DC_NS = "http://purl.org/dc/elements/1.1/"  # <dc:creator>: RSS's own <author> must be an e-mail address


def _rfc822(value: datetime) -> str:
    return format_datetime(_aware(value).astimezone(timezone.utc), usegmt=True)


def _rss_sub(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: _clean(v) for k, v in attributes.items()})
    if text is not None:
        element.text = _clean(text)
    return element


def render_rss_feed(
    feed: AtomFeed,
    articles: Sequence[Article],
    article_url: Callable[[Article], str],
    now: datetime | None = None,
) -> str:
    """An RSS 2.0 document listing ``articles`` in the order given (same entries as the Atom feed)."""
    ET.register_namespace("atom", _RSS_ATOM_NS)
    ET.register_namespace("dc", _DC_NS)
    generated_at = now or datetime.now(timezone.utc)
    entry_times = [t for t in (_entry_time(a) for a in articles) if t is not None]
    feed_updated = max(entry_times, key=_aware) if entry_times else generated_at

    root = ET.Element("rss", {"version": "2.0"})
    channel = _rss_sub(root, "channel")
    _rss_sub(channel, "title", feed.title)
    _rss_sub(channel, "link", feed.alternate_url or feed.self_url)
    _rss_sub(channel, "description", feed.subtitle or feed.title)
    ET.SubElement(channel, f"{{{_RSS_ATOM_NS}}}link",
                  {"rel": "self", "type": RSS_MEDIA_TYPE, "href": _clean(feed.self_url)})
    _rss_sub(channel, "lastBuildDate", _rfc822(feed_updated))
    _rss_sub(channel, "generator", feed.generator)
    for article in articles:
        item = _rss_sub(channel, "item")
        _rss_sub(item, "title", article.title or "(untitled)")
        _rss_sub(item, "link", article_url(article))
        # The id is not a URL, so the guid says it is not a permalink (readers then use it only to tell items apart).
        _rss_sub(item, "guid", f"urn:newsloom:article:{article.id}", isPermaLink="false")
        if article.published_at is not None:
            _rss_sub(item, "pubDate", _rfc822(article.published_at))
        if article.author:
            creator = ET.SubElement(item, f"{{{_DC_NS}}}creator")
            creator.text = _clean(article.author)
        if article.site:
            _rss_sub(item, "category", article.site)
        summary = article_excerpt(article)
        if summary:
            _rss_sub(item, "description", summary)
    return ET.tostring(root, encoding="unicode", xml_declaration=True)


# -- JSON Feed 1.1 -------------------------------------------------------------------------------------------------
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"


def render_json_feed(
    feed: AtomFeed,
    articles: Sequence[Article],
    article_url: Callable[[Article], str],
    now: datetime | None = None,
) -> str:
    """A JSON Feed 1.1 document (https://jsonfeed.org/version/1.1) listing ``articles`` in the order given."""
    document: dict[str, object] = {
        "version": JSON_FEED_VERSION,
        "title": _clean(feed.title),
        "feed_url": _clean(feed.self_url),
        "description": _clean(feed.subtitle or feed.title),
        "authors": [{"name": feed.generator}],
        "items": [_json_item(article, article_url(article)) for article in articles],
    }
    if feed.alternate_url:
        document["home_page_url"] = _clean(feed.alternate_url)
    return json.dumps(document, ensure_ascii=False, indent=1)


def _json_item(article: Article, page_url: str) -> dict[str, object]:
    summary = article_excerpt(article)
    item: dict[str, object] = {
        "id": f"urn:newsloom:article:{article.id}",
        "url": _clean(page_url),
        "title": _clean(article.title or "(untitled)"),
        # JSON Feed needs content_text or content_html; plain text needs no escaping by readers.
        "content_text": _clean(summary or article.title or ""),
    }
    if summary:
        item["summary"] = _clean(summary)
    if is_http_url(article.url):
        item["external_url"] = _clean(article.url or "")
    if article.published_at is not None:
        item["date_published"] = _timestamp(article.published_at)
    if article.fetched_at is not None:
        item["date_modified"] = _timestamp(article.fetched_at)
    if article.author:
        item["authors"] = [{"name": _clean(article.author)}]
    if article.site:
        item["tags"] = [_clean(article.site)]
    return item


def render_feed(
    feed_format: str,
    feed: AtomFeed,
    articles: Sequence[Article],
    article_url: Callable[[Article], str],
    now: datetime | None = None,
) -> tuple[str, str]:
    """(document, media type) of ``articles`` in ``feed_format``: "atom", "rss" or "json"."""
    renderers = {"atom": render_atom_feed, "rss": render_rss_feed, "json": render_json_feed}
    if feed_format not in renderers:
        raise ValueError(f"unknown feed format {feed_format!r}; use one of {', '.join(renderers)}")
    return renderers[feed_format](feed, articles, article_url, now), FEED_FORMATS[feed_format]


def feed_url_in_format(atom_url: str, feed_format: str) -> str:
    """The same feed's URL in another format: the last ".atom" before the query string becomes ".rss" / ".json"."""
    path, mark, query = atom_url.partition("?")
    if path.endswith(".atom"):
        path = path[: -len(".atom")] + "." + feed_format
    return path + mark + query
