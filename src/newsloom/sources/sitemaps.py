"""Sitemaps in: URL sets, sitemap indexes (walked recursively, bounded), Google News sitemaps, gzip, plain text.

    parse_sitemap(content, url=None)              -> Sitemap(kind, urls=[SitemapUrl], sitemaps=[str])
    walk_sitemaps(root_urls, get, max_depth=...)  -> SitemapWalk(urls, errors, sitemaps_read)

``walk_sitemaps`` takes the function that fetches a sitemap's bytes (``get``), so this module does no network I/O
itself: the caller passes ``Fetcher``-backed bytes (see ``discovery.fetch_bytes``) or reads files.

Limits follow the sitemaps protocol (50,000 URLs and 50 MB uncompressed per file) and bound the walk (depth, number
of sitemaps, number of URLs), so a hostile or looping index cannot run forever. XML is parsed by lxml with entity
resolution, DTD loading and network access off, after entity declarations are refused outright.

A ``<lastmod>`` says when the page last changed, not when it was published, so it is kept apart from the Google News
``<news:publication_date>``, which is a publication date.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from ..errors import InputError, InputTooLargeError
from .feeds import _http_url, _parse_iso_datetime, check_xml_safety, parse_xml_safely

__all__ = [
    "SitemapUrl",
    "Sitemap",
    "SitemapWalk",
    "parse_sitemap",
    "walk_sitemaps",
    "gunzip_limited",
    "MAX_SITEMAP_BYTES",
    "MAX_URLS_PER_SITEMAP",
]

MAX_SITEMAP_BYTES = 50 * 1024 * 1024  # the protocol's limit, uncompressed
MAX_URLS_PER_SITEMAP = 50_000


@dataclass(slots=True)
class SitemapUrl:
    url: str
    lastmod: datetime | None = None  # when the page last changed (not a publication date)
    news_title: str | None = None
    news_published_at: datetime | None = None  # Google News <news:publication_date>: a publication date
    news_publication: str | None = None
    news_language: str | None = None
    sitemap: str | None = None  # the sitemap it was listed in


@dataclass(slots=True)
class Sitemap:
    kind: str  # "urlset", "sitemapindex" or "text"
    urls: list[SitemapUrl] = field(default_factory=list)
    sitemaps: list[str] = field(default_factory=list)  # child sitemaps of an index


@dataclass(slots=True)
class SitemapWalk:
    urls: list[SitemapUrl] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (sitemap URL, message)
    sitemaps_read: list[str] = field(default_factory=list)
    truncated: bool = False  # a limit stopped the walk


def gunzip_limited(data: bytes, limit: int = MAX_SITEMAP_BYTES, what: str = "sitemap") -> bytes:
    """Decompress gzip data, refusing to produce more than ``limit`` bytes (a gzip bomb stops there)."""
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = decompressor.decompress(data, limit + 1)
    except zlib.error as exc:
        raise InputError(f"{what}: not a readable gzip file ({exc})") from exc
    if len(out) > limit or decompressor.unconsumed_tail:
        raise InputTooLargeError(f"{what}: decompresses to over {limit} bytes")
    if not decompressor.eof:
        raise InputError(f"{what}: gzip data is truncated")
    return out


def _local(tag: Any) -> str:
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1].lower()


def _child_text(element: Any, name: str) -> str | None:
    for child in element:
        if _local(child.tag) == name:
            return (child.text or "").strip() or None
    return None


def parse_sitemap(content: bytes | str, url: str | None = None) -> Sitemap:
    """Parse one sitemap file (XML, gzipped XML or a plain-text list of URLs)."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    if data[:2] == b"\x1f\x8b":
        data = gunzip_limited(data, what=url or "sitemap")
    if len(data) > MAX_SITEMAP_BYTES:
        raise InputTooLargeError(f"{url or 'sitemap'}: {len(data)} bytes is over the {MAX_SITEMAP_BYTES}-byte limit")
    stripped = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not stripped.startswith(b"<"):
        return _parse_text_sitemap(stripped, url)
    check_xml_safety(data, f"sitemap {url or ''}".strip())
    root = parse_xml_safely(data, f"sitemap {url or ''}".strip())
    kind = _local(root.tag)
    if kind == "sitemapindex":
        children = [u for u in (_http_url(_child_text(s, "loc"), None) for s in root if _local(s.tag) == "sitemap") if u]
        return Sitemap("sitemapindex", sitemaps=children[:MAX_URLS_PER_SITEMAP])
    if kind != "urlset":
        raise InputError(f"{url or 'document'} is not a sitemap (root element <{kind or '?'}>)")
    urls: list[SitemapUrl] = []
    for element in root:
        if _local(element.tag) != "url":
            continue
        entry = _url_entry(element, url)
        if entry is not None:
            urls.append(entry)
            if len(urls) >= MAX_URLS_PER_SITEMAP:
                break
    return Sitemap("urlset", urls=urls)


def _url_entry(element: Any, base: str | None) -> SitemapUrl | None:
    loc = _http_url(_child_text(element, "loc"), None)  # the protocol wants absolute URLs; guessing a base is wrong
    if loc is None:
        return None
    entry = SitemapUrl(loc, lastmod=_parse_w3c_date(_child_text(element, "lastmod")), sitemap=base)
    for child in element:
        if _local(child.tag) != "news":
            continue
        entry.news_title = _child_text(child, "title")
        entry.news_published_at = _parse_w3c_date(_child_text(child, "publication_date"))
        for publication in child:
            if _local(publication.tag) == "publication":
                entry.news_publication = _child_text(publication, "name")
                entry.news_language = _child_text(publication, "language")
    return entry


def _parse_w3c_date(value: str | None) -> datetime | None:
    """W3C datetime (YYYY, YYYY-MM, YYYY-MM-DD, or full with zone) in UTC; a bare day is midnight UTC."""
    if not value:
        return None
    parsed = _parse_iso_datetime(value)
    if parsed is not None:
        return parsed
    for length, pattern in ((7, "%Y-%m"), (4, "%Y")):
        if len(value) == length:
            try:
                return datetime.strptime(value, pattern).replace(tzinfo=timezone.utc)
            except ValueError:
                return None
    return None


def _parse_text_sitemap(data: bytes, url: str | None) -> Sitemap:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{url or 'sitemap'}: neither XML nor a UTF-8 list of URLs") from exc
    urls: list[SitemapUrl] = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        loc = _http_url(line, None)
        if loc is None or " " in line:
            raise InputError(f"{url or 'sitemap'}: neither XML nor a list of URLs (line {line[:80]!r})")
        urls.append(SitemapUrl(loc, sitemap=url))
        if len(urls) >= MAX_URLS_PER_SITEMAP:
            break
    return Sitemap("text", urls=urls)


def walk_sitemaps(
    root_urls: Iterable[str],
    get: Callable[[str], bytes],
    *,
    max_depth: int = 3,
    max_sitemaps: int = 200,
    max_urls: int = 1_000_000,
    same_site_only: bool = True,
) -> SitemapWalk:
    """Read sitemaps and, through indexes, their children, breadth first and each at most once.

    ``get(url)`` returns the sitemap's bytes or raises an InputError (a FetchError is one). A sitemap that fails is
    recorded in ``errors`` and the walk goes on. ``same_site_only`` ignores child sitemaps and page URLs on another
    host than the sitemap listing them (the protocol's own rule, and a guard against index spam).
    """
    walk = SitemapWalk()
    queue: list[tuple[str, int]] = [(u, 0) for u in root_urls]
    seen: set[str] = set()
    while queue:
        sitemap_url, depth = queue.pop(0)
        if sitemap_url in seen:
            continue
        if len(walk.sitemaps_read) >= max_sitemaps:
            walk.truncated = True
            break
        seen.add(sitemap_url)
        try:
            sitemap = parse_sitemap(get(sitemap_url), sitemap_url)
        except InputError as exc:
            walk.errors.append((sitemap_url, str(exc)))
            continue
        walk.sitemaps_read.append(sitemap_url)
        for child in sitemap.sitemaps:
            if same_site_only and not _same_site(child, sitemap_url):
                continue
            if depth + 1 > max_depth:
                walk.truncated = True
                continue
            queue.append((child, depth + 1))
        for entry in sitemap.urls:
            if same_site_only and not _same_site(entry.url, sitemap_url):
                continue
            if len(walk.urls) >= max_urls:
                walk.truncated = True
                return walk
            walk.urls.append(entry)
    return walk


def _registrable_host(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host


def _same_site(url: str, sitemap_url: str) -> bool:
    """Same host, ignoring "www."; a sitemap on a subdomain may list its parent's pages and vice versa."""
    a, b = _registrable_host(url), _registrable_host(sitemap_url)
    return a == b or a.endswith("." + b) or b.endswith("." + a)
