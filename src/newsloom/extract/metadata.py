"""Page metadata from one parsed tree: title, author, canonical URL, site, image, language, JSON-LD.

Everything here reads ``<head>`` signals the publisher wrote for machines (Open Graph, Twitter cards, Dublin
Core, schema.org JSON-LD and microdata) before falling back to what a reader sees (``<h1>``, bylines).
The reader is one pass over ``<meta>`` and one over JSON-LD scripts; the results are kept in ``PageMetadata``
so that dates and the page-type classifier reuse them without parsing again.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser, LexborNode

from ..urls import canonicalize_url, site_of

__all__ = ["PageMetadata", "read_metadata", "read_machine_metadata", "clean_title", "absolute_url"]

_SPACE = re.compile(r"\s+")
_BYLINE_PREFIX = re.compile(r"^\s*(?:by|von|par|por|di|door|af|av|de)\s*[:\-]?\s+", re.IGNORECASE)
_TITLE_SEPARATORS = re.compile(r"\s+(?:[|\-–—·•»:]|::)\s+")
_MAX_JSON_LD_CHARS = 500_000
_MAX_FIELD_CHARS = 1_000
_ARTICLE_TYPES = frozenset(
    {
        "article", "newsarticle", "blogposting", "reportagenewsarticle", "analysisnewsarticle", "opinionnewsarticle",
        "reviewnewsarticle", "backgroundnewsarticle", "report", "scholarlyarticle", "techarticle", "liveblogposting",
        "posting", "socialmediaposting", "review", "satiricalarticle", "advertisernewsarticle", "askpublicnewsarticle",
    }
)
_AUTHOR_META_KEYS = (
    "author", "article:author", "parsely-author", "sailthru.author", "dc.creator", "dcterms.creator", "byl",
    "twitter:creator", "cxenseparse:author", "citation_author",
)


@dataclass(slots=True)
class PageMetadata:
    """What the page says about itself. ``meta`` maps lower-cased name/property/itemprop to the first value."""

    title: str | None = None
    author: str | None = None
    canonical_url: str | None = None
    site: str | None = None
    image: str | None = None
    language: str | None = None
    description: str | None = None
    og_type: str | None = None
    meta: dict[str, str] = field(default_factory=dict)
    json_ld: list[dict[str, Any]] = field(default_factory=list)

    @property
    def json_ld_types(self) -> set[str]:
        types: set[str] = set()
        for node in self.json_ld:
            kind = node.get("@type")
            for name in kind if isinstance(kind, list) else [kind]:
                if isinstance(name, str):
                    types.add(name.lower())
        return types

    @property
    def declares_article(self) -> bool:
        """True when Open Graph or schema.org says this page is an article."""
        return (self.og_type or "").lower() == "article" or bool(self.json_ld_types & _ARTICLE_TYPES)

    def article_nodes(self) -> list[dict[str, Any]]:
        """JSON-LD nodes typed as an article, first; other nodes after them."""
        articles, others = [], []
        for node in self.json_ld:
            kind = node.get("@type")
            names = {n.lower() for n in (kind if isinstance(kind, list) else [kind]) if isinstance(n, str)}
            (articles if names & _ARTICLE_TYPES else others).append(node)
        return articles + others


def _squash(text: str | None) -> str:
    return _SPACE.sub(" ", text or "").strip()[:_MAX_FIELD_CHARS]


def absolute_url(href: str | None, base: str | None) -> str | None:
    """``href`` resolved against ``base``; None for empty, data: or javascript: links."""
    href = (href or "").strip()
    if not href or href.startswith(("data:", "javascript:", "#")):
        return None
    try:
        return urljoin(base, href) if base else href
    except ValueError:
        return None


def clean_title(title: str, site: str | None = None) -> str:
    """A <title> without the site name that publishers append ("Story - The Site")."""
    title = _squash(title)
    parts = _TITLE_SEPARATORS.split(title)
    if len(parts) < 2:
        return title
    site_key = (site or "").lower().replace("www.", "")
    # Drop the shorter end segment when it names the site, else keep the longest segment.
    if site_key:
        kept = [p for p in parts if site_key.split(".")[0] not in p.lower().replace(" ", "")]
        if kept and len(kept) < len(parts):
            return " - ".join(kept) if len(kept) > 1 else kept[0]
    longest = max(parts, key=len)
    return longest if len(longest) >= 0.5 * len(title) else title


def _collect_meta(tree: LexborHTMLParser) -> dict[str, str]:
    meta: dict[str, str] = {}
    for node in tree.css("meta"):
        attrs = node.attributes
        key = attrs.get("property") or attrs.get("name") or attrs.get("itemprop") or attrs.get("http-equiv")
        value = attrs.get("content")
        if value is None:
            value = attrs.get("datetime")
        if key and value and value.strip():
            meta.setdefault(key.strip().lower(), value.strip()[:_MAX_FIELD_CHARS])
    return meta


def _flatten_json_ld(data: Any, out: list[dict[str, Any]], depth: int = 0) -> None:
    if depth > 4 or len(out) > 200:
        return
    if isinstance(data, list):
        for item in data:
            _flatten_json_ld(item, out, depth + 1)
    elif isinstance(data, dict):
        if "@type" in data:
            out.append(data)
        if "@graph" in data:
            _flatten_json_ld(data["@graph"], out, depth + 1)
        main = data.get("mainEntity") or data.get("mainEntityOfPage")
        if isinstance(main, dict) and "@type" in main:
            _flatten_json_ld(main, out, depth + 1)


def _collect_json_ld(tree: LexborHTMLParser) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    for script in tree.css('script[type="application/ld+json"]'):
        raw = (script.text() or "").strip()
        if not raw or len(raw) > _MAX_JSON_LD_CHARS:
            continue
        raw = raw.removeprefix("<!--").removesuffix("-->").strip()
        raw = raw.removeprefix("//<![CDATA[").removesuffix("//]]>").strip()
        try:
            data = json.loads(raw, strict=False)
        except (ValueError, RecursionError):
            continue
        _flatten_json_ld(data, nodes)
    return nodes


def _name_of(value: Any) -> str | None:
    """A person's or organisation's name from a JSON-LD value (string, object or list of them)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        name = value.get("name")
        return name if isinstance(name, str) else None
    if isinstance(value, list):
        names = [n for n in (_name_of(v) for v in value[:5]) if n]
        return ", ".join(dict.fromkeys(names)) or None
    return None


def _clean_author(value: str | None) -> str | None:
    value = _squash(value)
    if not value or value.startswith(("http://", "https://", "@")) and " " not in value:
        return None
    value = _BYLINE_PREFIX.sub("", value).strip(" ,|")
    if not value or len(value) > 200 or not any(ch.isalpha() for ch in value):
        return None
    return value


def _author(tree: LexborHTMLParser, meta: dict[str, str], articles: list[dict[str, Any]]) -> str | None:
    for node in articles[:3]:
        found = _clean_author(_name_of(node.get("author") or node.get("creator")))
        if found:
            return found
    for key in _AUTHOR_META_KEYS:
        found = _clean_author(meta.get(key))
        if found:
            return found
    for selector in ('[rel="author"]', '[itemprop="author"]', '[class*="byline"]', '[class*="author-name"]'):
        node = tree.css_first(selector)
        if node is not None:
            found = _clean_author(node.text(separator=" "))
            if found and len(found) <= 80:
                return found
    return None


def _language(tree: LexborHTMLParser, meta: dict[str, str]) -> str | None:
    html = tree.css_first("html")
    raw = (html.attributes.get("lang") or html.attributes.get("xml:lang")) if html is not None else None
    raw = raw or meta.get("content-language") or meta.get("og:locale") or meta.get("language")
    if not raw:
        return None
    primary = re.split(r"[-_,;\s]", raw.strip().lower(), maxsplit=1)[0]
    return primary if 2 <= len(primary) <= 3 and primary.isalpha() else None


def _first_text(tree: LexborHTMLParser, selector: str) -> str | None:
    node: LexborNode | None = tree.css_first(selector)
    return _squash(node.text(separator=" ")) if node is not None else None


def _title(tree: LexborHTMLParser, meta: dict[str, str], articles: list[dict[str, Any]], site: str | None) -> str | None:
    for node in articles[:1]:
        headline = node.get("headline")
        if isinstance(headline, str) and _squash(headline):
            return _squash(headline)
    for key in ("og:title", "twitter:title", "headline", "dc.title"):
        if meta.get(key):
            return clean_title(meta[key], site)
    heading = _first_text(tree, "h1")
    if heading:
        return heading
    title = _first_text(tree, "title")
    return clean_title(title, site) if title else None


def _image(meta: dict[str, str], articles: list[dict[str, Any]], base: str | None) -> str | None:
    candidate = meta.get("og:image") or meta.get("og:image:url") or meta.get("twitter:image") or meta.get("twitter:image:src")
    if not candidate:
        for node in articles[:1]:
            image = node.get("image")
            if isinstance(image, list) and image:
                image = image[0]
            if isinstance(image, dict):
                image = image.get("url")
            if isinstance(image, str):
                candidate = image
    return absolute_url(candidate, base)


def _canonical(tree: LexborHTMLParser, meta: dict[str, str], url: str | None) -> str | None:
    link = tree.css_first('link[rel="canonical"]')
    href = link.attributes.get("href") if link is not None else None
    for candidate in (href, meta.get("og:url")):
        resolved = canonicalize_url(absolute_url(candidate, url))
        if resolved:
            return resolved
    return canonicalize_url(url) if url else None


def read_machine_metadata(tree: LexborHTMLParser, url: str | None = None) -> PageMetadata:
    """Only what the page states for machines (meta tags, JSON-LD, canonical URL, image): the cheap part
    that date finding needs."""
    meta = _collect_meta(tree)
    found = PageMetadata(meta=meta, json_ld=_collect_json_ld(tree))
    found.canonical_url = _canonical(tree, meta, url)
    found.image = _image(meta, found.article_nodes(), url or found.canonical_url)
    found.og_type = meta.get("og:type")
    return found


def read_metadata(tree: LexborHTMLParser, url: str | None = None) -> PageMetadata:
    """Read the page's own description of itself. Call before scripts are stripped (JSON-LD lives in them)."""
    found = read_machine_metadata(tree, url)
    meta = found.meta
    articles = found.article_nodes()
    publisher = next((_name_of(n.get("publisher")) for n in articles[:1] if n.get("publisher")), None)
    found.site = _squash(meta.get("og:site_name") or publisher) or site_of(found.canonical_url or url)
    found.title = _title(tree, meta, articles, found.site)
    found.author = _author(tree, meta, articles)
    found.language = _language(tree, meta)
    found.description = _squash(meta.get("description") or meta.get("og:description")) or None
    return found
