"""News feeds in: RSS 0.9x/1.0/2.0, Atom (feedparser; the ``sources`` extra) and JSON Feed (by hand); OPML lists.

    parse_feed(content, url=None)      -> ParsedFeed(title, site_url, format, entries=[FeedEntry, ...])
    apply_feed_date(article, entry)    fills a missing publication date from the feed, provenance "feed"
    parse_opml(content)                -> [FeedSubscription, ...]
    render_opml(subscriptions, title)  -> str (OPML 2.0)
    check_xml_safety(content)          raises InputError on entity declarations (shared with sitemaps.py)
    parse_xml_safely(content, what)    lxml root with entities, DTDs and network off (shared with sitemaps.py)

A feed's dates are only a fallback: the page's own metadata wins, so ``apply_feed_date`` fills a date only when the
extractor found none. Only http(s) links are kept, resolved against the feed's URL.

Safety: XML with entity declarations in its DOCTYPE (the "billion laughs" expansion, external entities that read
local files or URLs) is refused before any parser sees it; feedparser's SAX parser also has external entities
turned off. feedparser is always handed bytes through a stream, never a string, because given a string that looks
like a URL or a file name it would fetch or open it.
"""

from __future__ import annotations

import html
import io
import json
import re
import xml.sax
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urljoin, urlsplit

from ..errors import InputError, InputTooLargeError, MissingExtraError
from ..model import Article

__all__ = [
    "FeedEntry",
    "ParsedFeed",
    "FeedSubscription",
    "parse_feed",
    "parse_json_feed",
    "apply_feed_date",
    "parse_opml",
    "render_opml",
    "check_xml_safety",
    "parse_xml_safely",
    "FEED_DATE_CONFIDENCE",
    "MAX_FEED_BYTES",
]

MAX_FEED_BYTES = 20 * 1024 * 1024
# A feed's date describes the item, usually well, but it may be the time the item was (re)published in the feed.
FEED_DATE_CONFIDENCE = 0.6
_SUMMARY_CHARS = 1000


@dataclass(slots=True)
class FeedEntry:
    """One item of a feed. ``published_at`` is the entry's published date, else its updated date (UTC)."""

    url: str
    title: str = ""
    summary: str = ""
    published_at: datetime | None = None
    author: str | None = None
    guid: str | None = None


@dataclass(slots=True)
class ParsedFeed:
    title: str
    site_url: str | None
    format: str  # "rss", "atom", "rdf", "json"
    entries: list[FeedEntry] = field(default_factory=list)
    # Set when the XML broke off (a cut connection, a half-written file): the entries are those read before the
    # break, so a poller must not treat the listing as complete (or save its validators).
    truncated: bool = False


@dataclass(slots=True)
class FeedSubscription:
    """A feed in a list (OPML ``<outline type="rss" xmlUrl=...>``)."""

    url: str
    title: str = ""
    site_url: str | None = None
    category: str | None = None


# ---------------------------------------------------------------------------------------------------- XML safety

_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)
_BOMS = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


def _ascii_view(content: bytes) -> bytes:
    """The bytes re-encoded so ASCII markup can be searched: UTF-16/32 documents are decoded first."""
    for bom, encoding in _BOMS:
        if content.startswith(bom):
            if encoding == "utf-8":
                return content
            return content.decode(encoding, errors="replace").encode("utf-8", errors="replace")
    if content[:2] in (b"<\x00", b"\x00<"):  # UTF-16 without a BOM
        encoding = "utf-16-le" if content[:2] == b"<\x00" else "utf-16-be"
        return content.decode(encoding, errors="replace").encode("utf-8", errors="replace")
    return content


def check_xml_safety(content: bytes, what: str = "XML document") -> None:
    """Refuse XML whose DOCTYPE declares entities (entity expansion bombs, external entities).

    A DOCTYPE alone (RSS 0.91's public DTD reference) is fine: no parser here loads DTDs. Entity declarations have no
    place in feeds, sitemaps or OPML, so any of them is refused rather than parsed with care.
    """
    view = _ascii_view(content)
    doctype = _DOCTYPE.search(view)
    if doctype is None:
        return
    if _ENTITY_DECL.search(view, doctype.end()):
        raise InputError(f"{what} declares XML entities in its DOCTYPE; refused (entity expansion / external entity)")


def _as_bytes(content: bytes | str, what: str) -> bytes:
    data = content.encode("utf-8") if isinstance(content, str) else content
    if not isinstance(data, bytes):
        raise InputError(f"{what} must be bytes or text, not {type(content).__name__}")
    if len(data) > MAX_FEED_BYTES:
        raise InputTooLargeError(f"{what} is {len(data)} bytes, over the {MAX_FEED_BYTES}-byte limit")
    return data


# -------------------------------------------------------------------------------------------------------- feeds


def _http_url(candidate: Any, base: str | None) -> str | None:
    if not isinstance(candidate, str) or not candidate.strip():
        return None
    try:  # urljoin and urlsplit raise ValueError on a malformed host ("http://[::1"): not a link, then
        url = urljoin(base, candidate.strip()) if base else candidate.strip()
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme in ("http", "https") and parts.hostname else None


_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")


def _plain_text(value: Any, limit: int = _SUMMARY_CHARS) -> str:
    """Markup-free, single-spaced text (feed summaries are often HTML)."""
    if not isinstance(value, str):
        return ""
    text = html.unescape(_TAG.sub(" ", value))
    return _SPACE.sub(" ", text).strip()[:limit]


def _looks_like_json(data: bytes) -> bool:
    return data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


def parse_feed(content: bytes | str, url: str | None = None) -> ParsedFeed:
    """Parse an RSS, Atom or JSON feed. Raises InputError when the content is not a feed or is unsafe XML."""
    data = _as_bytes(content, "feed")
    if _looks_like_json(data):
        return parse_json_feed(data, url)
    check_xml_safety(data, "feed")
    try:
        import feedparser
    except ImportError as exc:
        raise MissingExtraError("feeds", "sources") from exc
    headers = {"content-location": url} if url else {}
    try:
        parsed = feedparser.parse(io.BytesIO(data), response_headers=headers, sanitize_html=True,
                                  resolve_relative_uris=True)
    except (ValueError, RecursionError, MemoryError, UnicodeError) as exc:
        raise InputError(f"feed could not be parsed: {type(exc).__name__}: {exc}") from exc
    version = str(parsed.get("version") or "")
    reason = parsed.get("bozo_exception")
    if not version and not parsed.entries:
        raise InputError(f"not an RSS/Atom feed{f' ({reason})' if reason else ''}")
    # feedparser flags recoverable oddities (a wrong declared charset) too; only a broken XML stream is fatal.
    broken_xml = isinstance(reason, xml.sax.SAXException)
    feed_info = parsed.get("feed", {})
    site_url = _http_url(feed_info.get("link"), url)
    entries = [entry for entry in (_entry_from_feedparser(item, url) for item in parsed.entries) if entry]
    if broken_xml and not entries:
        raise InputError(f"feed XML is malformed or truncated and holds no entries ({reason})")
    kind = "atom" if version.startswith("atom") else "rdf" if version in ("rss090", "rss10") else "rss"
    return ParsedFeed(_plain_text(feed_info.get("title"), 300), site_url, kind, entries, truncated=broken_xml)


def _struct_to_datetime(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime(*value[:6], tzinfo=timezone.utc)
    except (TypeError, ValueError, OverflowError):
        return None


def _entry_from_feedparser(item: Any, base: str | None) -> FeedEntry | None:
    link = _http_url(item.get("link"), base)
    if link is None:
        # Some feeds put the article URL only in the guid (RSS isPermaLink) or an alternate link.
        for candidate in [lnk.get("href") for lnk in item.get("links", []) if lnk.get("rel") in (None, "alternate")]:
            link = _http_url(candidate, base)
            if link:
                break
    if link is None:
        link = _http_url(item.get("id"), None)  # an id is a link only when it is an absolute URL
    if link is None:
        return None
    published = _struct_to_datetime(item.get("published_parsed")) or _struct_to_datetime(item.get("updated_parsed"))
    summary = item.get("summary") or ""
    if not summary and item.get("content"):
        summary = item["content"][0].get("value", "")
    author = _plain_text(item.get("author"), 200) or None
    guid = item.get("id") if isinstance(item.get("id"), str) else None
    return FeedEntry(link, _plain_text(item.get("title"), 500), _plain_text(summary), published, author, guid)


def _parse_iso_datetime(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


def parse_json_feed(content: bytes | str, url: str | None = None) -> ParsedFeed:
    """Parse a JSON Feed (https://jsonfeed.org, versions 1 and 1.1)."""
    data = _as_bytes(content, "JSON feed")
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InputError(f"JSON feed is not valid JSON: {exc}") from exc
    if not isinstance(document, dict) or "jsonfeed.org" not in str(document.get("version", "")):
        raise InputError("JSON document is not a JSON Feed (no jsonfeed.org version)")
    items = document.get("items")
    if not isinstance(items, list):
        raise InputError("JSON Feed has no 'items' list")
    base = _http_url(document.get("feed_url"), url) or url
    entries: list[FeedEntry] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        link = _http_url(item.get("url"), base) or _http_url(item.get("external_url"), base) or _http_url(item.get("id"), None)
        if link is None:
            continue
        summary = item.get("summary") or item.get("content_text") or item.get("content_html") or ""
        published = _parse_iso_datetime(item.get("date_published")) or _parse_iso_datetime(item.get("date_modified"))
        entries.append(
            FeedEntry(
                link,
                _plain_text(item.get("title"), 500),
                _plain_text(summary),
                published,
                _json_feed_author(item) or _json_feed_author(document),
                str(item["id"]) if isinstance(item.get("id"), (str, int)) else None,
            )
        )
    return ParsedFeed(_plain_text(document.get("title"), 300), _http_url(document.get("home_page_url"), url), "json", entries)


def _json_feed_author(obj: dict[str, Any]) -> str | None:
    authors = obj.get("authors")
    if isinstance(authors, list) and authors and isinstance(authors[0], dict):
        return _plain_text(authors[0].get("name"), 200) or None
    author = obj.get("author")  # JSON Feed 1.0
    if isinstance(author, dict):
        return _plain_text(author.get("name"), 200) or None
    return None


def apply_feed_date(article: Article, entry: FeedEntry) -> Article:
    """Give ``article`` the feed's date when extraction found none (provenance "feed"); returns the article."""
    if article.published_at is None and entry.published_at is not None:
        article.published_at = entry.published_at
        article.published_at_source = "feed"
        article.published_at_confidence = FEED_DATE_CONFIDENCE
    if not article.author and entry.author:
        article.author = entry.author
    return article


# --------------------------------------------------------------------------------------------------------- OPML


def parse_xml_safely(data: bytes, what: str) -> Any:
    """The root element, parsed by lxml with entities, DTDs and network access off."""
    from lxml import etree

    check_xml_safety(data, what)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False,
                             dtd_validation=False, remove_pis=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise InputError(f"{what} is not well-formed XML: {exc}") from exc
    if root is None:
        raise InputError(f"{what} is empty")
    return root


def parse_opml(content: bytes | str) -> list[FeedSubscription]:
    """The feeds listed in an OPML file; nested outlines give their text as the category."""
    data = _as_bytes(content, "OPML file")
    root = parse_xml_safely(data, "OPML file")
    if not isinstance(root.tag, str) or root.tag.lower() != "opml":
        raise InputError("not an OPML file (the root element is not <opml>)")
    body = root.find("body")
    if body is None:
        raise InputError("OPML file has no <body>")
    found: list[FeedSubscription] = []
    seen: set[str] = set()

    def walk(element: Any, category: str | None) -> None:
        for outline in element.iterfind("outline"):
            url = _http_url(outline.get("xmlUrl") or outline.get("xmlurl"), None)
            label = outline.get("title") or outline.get("text") or ""
            if url and url not in seen:
                seen.add(url)
                found.append(FeedSubscription(url, label.strip(), _http_url(outline.get("htmlUrl"), None), category))
            elif not url:
                walk(outline, label.strip() or category)

    walk(body, None)
    return found


_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(value: str) -> str:
    return _XML_FORBIDDEN.sub("", value)


def render_opml(subscriptions: list[FeedSubscription], title: str = "newsloom feeds") -> str:
    """An OPML 2.0 document listing ``subscriptions``, grouped by category."""
    from lxml import etree

    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = title
    etree.SubElement(head, "dateCreated").text = datetime.now(timezone.utc).strftime("%a, %d %b %Y %H:%M:%S GMT")
    body = etree.SubElement(root, "body")
    groups: dict[str | None, Any] = {None: body}
    for sub in subscriptions:
        parent = groups.get(sub.category)
        if parent is None:
            parent = groups[sub.category] = etree.SubElement(body, "outline", text=_xml_text(sub.category or ""))
        label = _xml_text(sub.title or sub.url)
        attributes = {"type": "rss", "text": label, "title": label, "xmlUrl": _xml_text(sub.url)}
        if sub.site_url:
            attributes["htmlUrl"] = _xml_text(sub.site_url)
        etree.SubElement(parent, "outline", attributes)
    return etree.tostring(root, encoding="unicode", pretty_print=True)
