"""Page metadata from one parsed tree: title, author, canonical URL, site, image, language, JSON-LD.

Everything here reads ``<head>`` signals the publisher wrote for machines (Open Graph, Twitter cards, Dublin
Core, schema.org JSON-LD and microdata) before falling back to what a reader sees (``<h1>``, bylines).
The reader is one pass over ``<meta>`` and one over JSON-LD scripts; the results are kept in ``PageMetadata``
so that dates and the page-type classifier reuse them without parsing again.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from ..urls import canonicalize_url, site_of

__all__ = ["PageMetadata", "read_metadata", "read_machine_metadata", "clean_title", "absolute_url"]

_SPACE = re.compile(r"\s+")
_BYLINE_PREFIX = re.compile(r"^\s*(?:by|von|par|por|di|door|af|av|de)\s*[:\-]?\s+", re.IGNORECASE)
_TITLE_SEPARATORS = re.compile(r"\s+(?:[|\-–—·•»:]|::)\s+")
MAX_JSON_LD_CHARS = 500_000
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
        if not raw or len(raw) > MAX_JSON_LD_CHARS:
            continue
        raw = raw.removeprefix("<!--").removesuffix("-->").strip()
        raw = raw.removeprefix("//<![CDATA[").removesuffix("//]]>").strip()
        try:
            data = json.loads(raw, strict=False)
        except (ValueError, RecursionError):
            continue
        _flatten_json_ld(data, nodes)
    return nodes


def _name_of(value: Any, by_id: dict[str, dict[str, Any]] | None = None) -> str | None:
    """A person's or organisation's name from a JSON-LD value (string, object, ``{"@id": ...}`` reference to a
    node elsewhere in the graph, or a list of them)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        name = value.get("name")
        if not isinstance(name, str) and by_id and isinstance(value.get("@id"), str):
            name = (by_id.get(value["@id"]) or {}).get("name")
        return name if isinstance(name, str) else None
    if isinstance(value, list):
        names = [n for n in (_name_of(v, by_id) for v in value[:5]) if n]
        return ", ".join(dict.fromkeys(names)) or None
    return None


# What a byline element holds besides the name: a role after a comma ("Jane Doe, Senior Editor at X"), a
# counter ("1,992 reputation"), a date ("Updated Feb 27, 2026").
_MONTH_WORDS = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t|tember)?|oct(?:ober)?|"
    r"nov(?:ember)?|dec(?:ember)?|mon|tue|wed|thu|fri|sat|sun"
)
_AFTER_NAME = re.compile(
    r"(?:^|\s+)(?:\d[\d,.]*\b|(?:updated|published|posted|reviewed|fact[- ]checked|edited|on|am|le|el)\b|"
    rf"(?:{_MONTH_WORDS})\b\.?,?\s*\d|[|•·–—»]|-\s).*$",
    re.IGNORECASE,
)
_NAME_PREFIX = re.compile(r"^(?:(?:written|posted|authored)\s+by|authors?|by)\s*[:\-]?\s+", re.IGNORECASE)
_ROLE_AFTER_COMMA = re.compile(r"\s*,\s*((?:[^,]+\s+){3,}[^,]*)$")
_NOT_A_NAME = re.compile(
    r"^(?:view (?:all|more) (?:posts|articles)|more posts|admin|administrator|author|authors|staff|guest|anonymous|"
    rf"unknown|none|null|undefined|name|sign in|log in|login|the author|written by|posted by|by|{_MONTH_WORDS})\W*$|"
    r"\w\.\w+\.\w",
    re.IGNORECASE,
)


_TRAILING_PARENTHESES = re.compile(r"\s*\(([^)]*)\)$")


def _drop_repeated_handle(value: str) -> str:
    """"Laubrani (Laubrani)": forums print the user name again as a handle."""
    match = _TRAILING_PARENTHESES.search(value)
    if match and match[1].strip().lower() in value[: match.start()].lower():
        return value[: match.start()]
    return value


def _clean_author(value: str | None) -> str | None:
    value = _squash(html.unescape(value or ""))
    if not value or value.startswith(("http://", "https://", "@")) and " " not in value:
        return None
    value = _NAME_PREFIX.sub("", _BYLINE_PREFIX.sub("", value)).strip(" ,|")
    value = _AFTER_NAME.sub("", value)
    value = _ROLE_AFTER_COMMA.sub("", value)
    value = _drop_repeated_handle(value)
    value = value.strip(" ,|:;-")
    if not value or len(value) > 200 or not any(ch.isalpha() for ch in value) or _NOT_A_NAME.search(value):
        return None
    return value


# Elements that hold the byline's name, most specific first.
_AUTHOR_SELECTORS = (
    '[rel="author"]',
    '[itemprop="author"] [itemprop="name"]',
    '[itemprop="author"]',
    'a[href*="/author/"]',
    'a[href*="/authors/"]',
    '[class*="author-name" i]',
    '[class*="authorname" i]',
    '[class*="author__name" i]',
    '[class*="byline" i] a',
    '[class*="byline" i]',
    '[class*="author" i]',
    '[data-author]',
)
_MAX_BYLINE_WORDS = 8


def _author_from_elements(tree: LexborHTMLParser) -> str | None:
    for selector in _AUTHOR_SELECTORS:
        for node in tree.css(selector)[:5]:
            if selector == "[data-author]":
                text = node.attributes.get("data-author") or ""
            else:
                text = node.text(separator=" ")
            if not text or len(text) > 300:
                continue
            found = _clean_author(text)
            if found and len(found) <= 80 and len(found.split()) <= _MAX_BYLINE_WORDS:
                return found
    return None


def _author(tree: LexborHTMLParser, meta: dict[str, str], articles: list[dict[str, Any]], by_id: dict[str, dict[str, Any]]) -> str | None:
    for node in articles[:3]:
        found = _clean_author(_name_of(node.get("author") or node.get("creator"), by_id))
        if found:
            return found
    for key in _AUTHOR_META_KEYS:
        found = _clean_author(meta.get(key))
        if found:
            return found
    # Twitter card "label/data" pairs: <meta name="twitter:label1" content="Written by"> + twitter:data1.
    for number in "12":
        if (meta.get(f"twitter:label{number}") or "").strip().lower() in ("written by", "author", "by"):
            found = _clean_author(meta.get(f"twitter:data{number}"))
            if found:
                return found
    return _author_from_elements(tree)


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


def _title_segments(title: str) -> list[str]:
    return [part for part in _TITLE_SEPARATORS.split(title) if part.strip()]


# Marks that change nothing a reader sees: bidi embeddings (Google Scholar wraps names in them), zero-width
# characters, and the pilcrow or "#" that documentation generators append to headings as anchor links.
_INVISIBLE_MARKS = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
_HEADING_ANCHOR = re.compile(r"\s*[¶#§]\s*$")
_TEMPLATE_PLACEHOLDER = re.compile(r"\{\{.*\}\}|\{%.*%\}")
# Words too common to show two titles are about the same thing.
_TITLE_FILLER_WORDS = frozenset(
    "the a an of to in and or for with on at by from your you our is are how what why best top new vs".split()
)
# Share of a heading's content words that a stated title must hold for the two to be about the same thing.
_HEADING_TOPIC_OVERLAP = 0.4
_MIN_SITE_KEY_CHARS = 3
_ELLIPSES = ("…", "...")


def _title_text(raw: str | None) -> str:
    """A title candidate as a reader sees it: entities decoded, invisible marks and anchor signs dropped."""
    text = _INVISIBLE_MARKS.sub("", html.unescape(raw or ""))
    return _HEADING_ANCHOR.sub("", _squash(text)).strip()


def _letters_key(text: str) -> str:
    return re.sub(r"\W+", "", text.casefold())


def _site_keys(site: str | None, url: str | None) -> set[str]:
    """Ways the site's name is written: its stated name (og:site_name or publisher) and its host name."""
    keys = {_letters_key(site or "")}
    host = (site_of(url) or "").removeprefix("www.") if url else ""
    if host:
        keys |= {_letters_key(host), _letters_key(host.split(".")[0])}
    return {key for key in keys if len(key) >= _MIN_SITE_KEY_CHARS}


def _names_site(segment: str, site_keys: set[str]) -> bool:
    """A title segment or heading that is the site's name ("Engadget", "The Verge Forums", "CrowdStrike.com")."""
    key = _letters_key(segment)
    if not key:
        return False
    return any(
        key == site or (site in key and len(key) <= len(site) + 12) or (key in site and len(key) >= 4)
        for site in site_keys
    )


# Elements around a site's banner (logo, navigation) and around the page's own content.
_BANNER_TAGS = frozenset({"a", "nav"})
_CONTENT_TAGS = frozenset({"article", "main"})
_MAX_BANNER_DEPTH = 12


def _in_site_banner(node: LexborNode) -> bool:
    """The element sits in a link, a navigation bar or a page-level ``<header>`` (an ``<article>``'s or
    ``<main>``'s own header holds the story's headline, not the site's logo)."""
    in_header = False
    parent = node.parent
    for _ in range(_MAX_BANNER_DEPTH):
        if parent is None:
            break
        tag = parent.tag
        if tag in _BANNER_TAGS:
            return True
        if tag in _CONTENT_TAGS:
            return False
        in_header = in_header or tag == "header"
        parent = parent.parent
    return in_header


def _is_site_logo(node: LexborNode, heading: str, site_keys: set[str]) -> bool:
    """A heading that shows the site's name rather than the page's title: exactly the site's name, or a
    heading built on it ("Antoyo's Blog") that sits in the banner. Outside the banner a heading that starts
    with the brand is the page's own ("Amazon Best Sellers", "Apple Watch", "Welcome to LWN.net")."""
    if not _names_site(heading, site_keys):
        return False
    key = _letters_key(heading)
    return key in site_keys or _in_site_banner(node)


def _is_last_segment(heading: str, stated: str) -> bool:
    """The heading is only the trailing segment of a "Story | Site" title: the site's name (its logo)."""
    segments = _title_segments(stated)
    return len(segments) > 1 and segments[-1].strip().casefold() == heading.casefold()


def _heading_agrees(heading: str, stated: str) -> bool:
    """True when the visible heading is the stated title or part of it, but not just its last segment (on
    "Story | Site" pages an ``<h1>`` holding the site's name is the logo, not the page's title)."""
    heading_key, stated_key = heading.casefold(), stated.casefold()
    if heading_key == stated_key:
        return True
    return heading_key in stated_key and not _is_last_segment(heading, stated)


def _content_words(text: str) -> set[str]:
    # Five-letter stems, so "Planner"/"Planners" and "Comparison"/"Compare" count as the same word.
    return {word[:5] for word in re.findall(r"\w+", text.casefold()) if word not in _TITLE_FILLER_WORDS}


def _shares_topic(heading: str, stated: list[str]) -> bool:
    """The heading is about what the stated titles are about: enough of its words appear in one of them.
    A headline reworded for readers passes ("9 Common Food Myths Debunked" / "Debunking Common Food Myths");
    a hero slogan does not ("Land your next job faster" / "Resume Writing Services")."""
    words = _content_words(heading)
    if not words:
        return False
    return any(len(words & _content_words(title)) >= _HEADING_TOPIC_OVERLAP * len(words) for title in stated)


def _stated_core(title: str, site_keys: set[str]) -> str:
    """A stated title without the site's name: the first segment that does not name the site."""
    segments = _title_segments(title)
    kept = [part for part in segments if not _names_site(part, site_keys)] or segments
    return kept[0].strip() if kept else title


def _completes(heading: str, stated: str) -> bool:
    """The heading is the full form of a stated title that was cut inside a word for length
    ("... laptop, and k" / "... laptop, and keyboard (checklist)")."""
    if len(heading) <= len(stated) or not heading.casefold().startswith(stated.casefold()):
        return False
    return stated[-1:].isalnum() and heading[len(stated)].isalnum()


def _is_site_wide(title: str, site_keys: set[str], url: str | None) -> bool:
    """A title that names the site first ("Reddit - The heart of the internet") on a page below the site's
    home: the site's own name and slogan, repeated on every page, rather than this page's title."""
    segments = _title_segments(title)
    if len(segments) < 2 or not _names_site(segments[0], site_keys) or _names_site(segments[-1], site_keys):
        return False
    try:
        path = urlsplit(url).path if url else ""
    except ValueError:  # a malformed URL ("http://[::1") tells nothing about the page's place on the site
        return False
    return bool(path.strip("/"))


def _title(
    tree: LexborHTMLParser,
    meta: dict[str, str],
    articles: list[dict[str, Any]],
    site: str | None,
    url: str | None = None,
    declares_article: bool = False,
) -> str | None:
    """The page's own title, chosen among what it states for machines (Open Graph, ``<title>``, Twitter card,
    JSON-LD headline) and the main headings readers see (``<h1>``, minus the site's logo).

    1. A heading that is one of the stated titles, or part of one, is the title as readers see it.
    2. On a page that declares itself an article (Open Graph or schema.org), the first own heading that
       shares the stated titles' topic: newsrooms reword the headline for search engines, and the visible
       one is the story's own. Elsewhere (shops, services, docs) a reworded heading is a banner or a
       category label more often than the title, and the stated title wins.
    3. A heading, when the stated title is only the site's name and slogan ("Reddit - The heart of the
       internet") on a page below the site's home.
    4. Otherwise the first stated title (Open Graph first: it is written for sharing, without the site's
       name more often than ``<title>``), minus segments that name the site; or the heading that completes it
       when it was cut inside a word. Titles cut with an ellipsis are a last resort.

    Rule 2's page-kind condition, rule 3, the logo test and the cut-title checks come from error analysis on
    WCXB dev; each one raises (or keeps) title accuracy on both halves of it separately (bench/wcxb.py --half).
    """
    headline = next((h for h in (n.get("headline") for n in articles[:1]) if isinstance(h, str)), None)
    raw_stated = (meta.get("og:title"), _first_text(tree, "title"), meta.get("twitter:title"), headline)
    stated = [t for t in (_title_text(raw) for raw in raw_stated if raw) if t]
    # A title cut short with an ellipsis is used only when there is nothing else.
    cut_short = [t for t in stated if t.endswith(_ELLIPSES)]
    stated = [t for t in stated if not t.endswith(_ELLIPSES)]
    site_keys = _site_keys(site, url)
    heading_nodes = [(node, _title_text(node.text(separator=" "))) for node in tree.css("h1")[:5]]
    heading_nodes = [(n, h) for n, h in heading_nodes if len(h) >= 2 and not _TEMPLATE_PLACEHOLDER.search(h)]
    headings = [h for _, h in heading_nodes]
    own_headings = [
        h
        for node, h in heading_nodes
        if not _is_site_logo(node, h, site_keys) and not any(_is_last_segment(h, t) for t in stated)
    ]
    for heading in own_headings:
        if any(_heading_agrees(heading, title) for title in stated):
            return heading
    if own_headings and stated and declares_article and _shares_topic(own_headings[0], stated):
        return own_headings[0]
    if own_headings and stated and _is_site_wide(stated[0], site_keys, url):
        return own_headings[0]
    if not stated:
        return (own_headings or headings or cut_short or [None])[0]
    core = _stated_core(stated[0], site_keys)
    # A stated title cut short for length ("... laptop, and k | Shop") is the start of the full heading.
    return next((h for h in own_headings if _completes(h, core)), core)


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
    found.title = _title(tree, meta, articles, found.site, found.canonical_url or url, found.declares_article)
    by_id = {n["@id"]: n for n in found.json_ld if isinstance(n.get("@id"), str)}
    found.author = _author(tree, meta, articles, by_id)
    found.language = _language(tree, meta)
    found.description = _squash(meta.get("description") or meta.get("og:description")) or None
    return found
