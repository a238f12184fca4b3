"""From a site's address to its feeds and sitemaps.

    find_feed_links(html, base_url)         -> [DiscoveredFeed]   <link rel="alternate" type="application/rss+xml"...>
    sitemaps_from_robots(robots_txt, base)  -> [str]              the robots.txt "Sitemap:" lines
    discover_sources(site_url, fetcher)     -> Discovery(feeds, sitemaps, errors)

``discover_sources`` asks, in order: the home page's alternate links; robots.txt's Sitemap lines; then, only for
what is still missing, the usual places (/feed, /rss, /rss.xml, /atom.xml, /feed.xml, /index.xml; /sitemap.xml,
/sitemap_index.xml). A guessed place counts only when its body really parses as a feed or a sitemap, so a site that
answers every path with its home page does not yield junk feeds. All fetching goes through the given Fetcher, with
its robots.txt, politeness and SSRF rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from ..errors import InputError
from .feeds import _http_url, parse_feed
from .sitemaps import parse_sitemap

if TYPE_CHECKING:
    from .fetch import Fetcher

__all__ = ["DiscoveredFeed", "Discovery", "find_feed_links", "sitemaps_from_robots", "discover_sources", "fetch_bytes",
           "FEED_FALLBACK_PATHS", "SITEMAP_FALLBACK_PATHS"]

FEED_TYPES = {
    "application/rss+xml": "rss",
    "application/atom+xml": "atom",
    "application/feed+json": "json",
    "application/json": "json",
    "application/rdf+xml": "rdf",
    "text/xml": "rss",
    "application/xml": "rss",
}
FEED_FALLBACK_PATHS = ("/feed", "/rss", "/rss.xml", "/feed.xml", "/atom.xml", "/index.xml")
SITEMAP_FALLBACK_PATHS = ("/sitemap.xml", "/sitemap_index.xml")
_MAX_FEED_LINKS = 50


@dataclass(slots=True)
class DiscoveredFeed:
    url: str
    format: str  # "rss", "atom", "json", "rdf"
    title: str = ""


@dataclass(slots=True)
class Discovery:
    site_url: str
    feeds: list[DiscoveredFeed] = field(default_factory=list)
    sitemaps: list[str] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (URL, message) of what could not be read


def find_feed_links(html: bytes | str, base_url: str) -> list[DiscoveredFeed]:
    """The feeds a page announces with ``<link rel="alternate" type=...>``, in page order, resolved, deduplicated."""
    from lxml import etree, html as lxml_html

    if not html:
        return []
    try:
        document = lxml_html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return []
    base = base_url
    for element in document.iter("base"):
        base = _http_url(element.get("href"), base_url) or base_url
        break
    found: list[DiscoveredFeed] = []
    seen: set[str] = set()
    for link in document.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        media_type = (link.get("type") or "").split(";", 1)[0].strip().lower()
        if "alternate" not in rel or media_type not in FEED_TYPES:
            continue
        url = _http_url(link.get("href"), base)
        if url is None or url in seen:
            continue
        seen.add(url)
        found.append(DiscoveredFeed(url, FEED_TYPES[media_type], " ".join((link.get("title") or "").split())))
        if len(found) >= _MAX_FEED_LINKS:
            break
    return found


def sitemaps_from_robots(robots_txt: str, base_url: str) -> list[str]:
    """The URLs of robots.txt ``Sitemap:`` lines (any case, relative ones resolved), deduplicated."""
    found: list[str] = []
    for line in robots_txt.splitlines():
        name, _, value = line.partition(":")
        if name.strip().lower() != "sitemap":
            continue
        url = _http_url(value.split("#", 1)[0].strip(), base_url)
        if url and url not in found:
            found.append(url)
    return found


def fetch_bytes(fetcher: Fetcher, url: str) -> bytes:
    """The body of a 2xx answer, or an InputError (FetchError) saying why not: the ``get`` of ``walk_sitemaps``."""
    from .fetch import FetchError

    result = fetcher.fetch(url, allowed_content_types=None)
    if not result.ok:
        raise FetchError(f"{url}: HTTP {result.status}", url=url)
    return result.content


def _site_root(site_url: str) -> str:
    parts = urlsplit(site_url if "://" in site_url else "https://" + site_url)
    return f"{parts.scheme}://{parts.netloc}/"


def discover_sources(site_url: str, fetcher: Fetcher, *, try_fallbacks: bool = True) -> Discovery:
    """Find a site's feeds and sitemaps (see the module docstring for the order)."""
    root = _site_root(site_url)
    found = Discovery(root)
    home = site_url if urlsplit(site_url).path not in ("", "/") else root
    try:
        page = fetcher.fetch(home)
        if page.ok:
            found.feeds = find_feed_links(page.content, page.final_url)
    except InputError as exc:
        found.errors.append((home, str(exc)))
    try:
        found.sitemaps = list(fetcher.robots_sitemaps(root))
    except InputError as exc:
        found.errors.append((root + "robots.txt", str(exc)))
    if try_fallbacks and not found.feeds:
        found.feeds = _probe(fetcher, root, FEED_FALLBACK_PATHS, _as_feed, found.errors, first_only=True)
    if try_fallbacks and not found.sitemaps:
        found.sitemaps = [f.url for f in _probe(fetcher, root, SITEMAP_FALLBACK_PATHS, _as_sitemap, found.errors,
                                                first_only=False)]
    return found


def _as_feed(url: str, content: bytes) -> DiscoveredFeed | None:
    feed = parse_feed(content, url)
    return DiscoveredFeed(url, feed.format, feed.title)


def _as_sitemap(url: str, content: bytes) -> DiscoveredFeed | None:
    sitemap = parse_sitemap(content, url)
    return DiscoveredFeed(url, sitemap.kind) if sitemap.urls or sitemap.sitemaps else None


def _probe(fetcher: Fetcher, root: str, paths: tuple[str, ...], check, errors: list[tuple[str, str]],
           *, first_only: bool) -> list[DiscoveredFeed]:
    found: list[DiscoveredFeed] = []
    for path in paths:
        url = urljoin(root, path)
        try:
            result = fetcher.fetch(url, allowed_content_types=None)
        except InputError as exc:
            errors.append((url, str(exc)))
            continue
        if not result.ok or not result.content:
            continue
        try:
            item = check(result.final_url, result.content)
        except InputError:
            continue  # not a feed/sitemap there (often the home page served for any path)
        if item is not None and all(f.url != item.url for f in found):
            found.append(item)
            if first_only:
                break
    return found
