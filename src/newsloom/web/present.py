"""Presentation helpers shared by the pages and the API: dates, safe links, highlighted snippets, share URLs, JSON-LD,
entity types in words and entities grouped by kind (people, organisations, places, other).

The rule for page text: it is escaped before any markup of ours goes in. Search snippets arrive with matched terms
between MATCH_START/MATCH_END control characters; we escape the whole snippet first and only then turn the markers into
``<mark>``, so a snippet can never smuggle markup in. URLs from pages become links only when they are http(s).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Protocol, TypeVar
from urllib.parse import quote, urlencode

from markupsafe import Markup, escape

from ..feeds import article_excerpt, body_without_headline, is_http_url
from ..model import Article
from ..store.sqlite import MATCH_END, MATCH_START

__all__ = [
    "DATE_SOURCE_LABELS",
    "ShareLink",
    "date_label",
    "moment_label",
    "short_date",
    "date_source_label",
    "iso_date",
    "safe_url",
    "excerpt",
    "body_paragraphs",
    "highlight_snippet",
    "plain_snippet",
    "share_links",
    "json_ld_script_body",
    "article_json_ld",
    "EntityGroup",
    "ENTITY_GROUPS",
    "ENTITY_TYPE_LABELS",
    "entity_type_label",
    "entity_group_of",
    "group_entities",
]

# How the reader explains where a publication date came from (see model.DATE_SOURCES).
DATE_SOURCE_LABELS: dict[str, str] = {
    "json-ld": "date from the page's structured data",
    "meta": "date from page metadata",
    "time-element": "date from the page's time tag",
    "url": "date from the page address",
    "text": "date from the article text",
    "feed": "date from the news feed",
    "input": "date from the imported record",
    "http-header": "date from the web server's headers",
}

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def date_label(article: Article) -> str:
    """'26 March 2024' (with the time when the source gave one), or 'date unknown'."""
    if article.published_at is None:
        return "date unknown"
    value = _aware(article.published_at)
    day = f"{value.day} {value:%B %Y}"
    if (value.hour, value.minute) != (0, 0):
        return f"{day}, {value:%H:%M} {value:%Z}".rstrip()
    return day


def moment_label(value: datetime | None, short: bool = False) -> str:
    """'26 March 2024, 09:30 UTC' (the time left out at midnight; ``short``: '26 Mar 2024, 09:30 UTC'), or
    'date unknown': story first/last seen."""
    if value is None:
        return "date unknown"
    value = _aware(value).astimezone(timezone.utc)
    day = f"{value.day} {value:%b %Y}" if short else f"{value.day} {value:%B %Y}"
    return f"{day}, {value:%H:%M} UTC" if (value.hour, value.minute) != (0, 0) else day


def short_date(value: datetime | None) -> str:
    """'26 Mar 2024' for compact timelines; empty when unknown."""
    if value is None:
        return ""
    value = _aware(value).astimezone(timezone.utc)
    return f"{value.day} {value:%b %Y}"


def iso_date(value: datetime | None) -> str | None:
    return _aware(value).isoformat() if value is not None else None


def date_source_label(article: Article) -> str:
    """Where the date came from, in words; empty when there is no date."""
    if article.published_at is None:
        return ""
    return DATE_SOURCE_LABELS.get(article.published_at_source, f"date from {article.published_at_source}")


def safe_url(url: str | None) -> str | None:
    """``url`` when it may become an href (absolute http/https), else None: never javascript:, data: or relative."""
    return url if is_http_url(url) else None


def excerpt(article: Article, limit: int = 280) -> str:
    return article_excerpt(article, limit)


def body_paragraphs(article: Article) -> list[str]:
    """The paragraphs to show under the headline: a first paragraph that only repeats the headline is dropped."""
    return body_without_headline(article)


def plain_snippet(snippet: str) -> str:
    """The snippet as plain text: markers and any other control characters removed."""
    return _CONTROL.sub("", snippet.replace(MATCH_START, "").replace(MATCH_END, ""))


def highlight_snippet(snippet: str) -> Markup:
    """Escaped snippet text with matched terms in <mark>; unbalanced markers are repaired, never trusted."""
    parts: list[str] = []
    open_mark = False
    for piece in re.split(f"([{MATCH_START}{MATCH_END}])", snippet):
        if piece == MATCH_START:
            if not open_mark:
                parts.append("<mark>")
                open_mark = True
        elif piece == MATCH_END:
            if open_mark:
                parts.append("</mark>")
                open_mark = False
        else:
            parts.append(str(escape(_CONTROL.sub("", piece))))
    if open_mark:
        parts.append("</mark>")
    return Markup("".join(parts))


@dataclass(slots=True, frozen=True)
class ShareLink:
    label: str
    href: str


def share_links(title: str, url: str) -> list[ShareLink]:
    """Plain share URLs (no third-party script): e-mail, Mastodon, Bluesky, LinkedIn."""
    text = f"{title} {url}"
    return [
        ShareLink("E-mail", "mailto:?" + urlencode({"subject": title, "body": url}, quote_via=quote)),
        ShareLink("Mastodon", "https://mastodon.social/share?" + urlencode({"text": text}, quote_via=quote)),
        ShareLink("Bluesky", "https://bsky.app/intent/compose?" + urlencode({"text": text}, quote_via=quote)),
        ShareLink(
            "LinkedIn", "https://www.linkedin.com/sharing/share-offsite/?" + urlencode({"url": url}, quote_via=quote)
        ),
    ]


def json_ld_script_body(data: dict[str, Any]) -> Markup:
    """JSON for a <script type="application/ld+json"> block that page text cannot break out of.

    ``<``, ``>`` and ``&`` are written as JSON unicode escapes, so neither ``</script>`` nor ``<!--`` can appear, and
    U+2028/U+2029 are escaped for old JavaScript parsers. The result is still the same JSON value.
    """
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                          ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    return Markup(text)


def article_json_ld(article: Article, permalink: str) -> dict[str, Any]:
    """schema.org NewsArticle metadata for the article page."""
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": article.title,
        "url": permalink,
        "mainEntityOfPage": permalink,
        "description": excerpt(article, 300),
        "wordCount": article.word_count,
    }
    if article.published_at is not None:
        data["datePublished"] = iso_date(article.published_at)
    if article.author:
        data["author"] = {"@type": "Person", "name": article.author}
    if article.language:
        data["inLanguage"] = article.language
    if safe_url(article.url):
        data["isBasedOn"] = article.url
    if safe_url(article.image):
        data["image"] = article.image
    if article.site:
        data["publisher"] = {"@type": "Organization", "name": article.site}
    return data


# -- entities ------------------------------------------------------------------------------------------------------
# spaCy's labels (the types the enrichment stage stores) in words a reader knows.
ENTITY_TYPE_LABELS: dict[str, str] = {
    "PERSON": "person",
    "ORG": "organisation",
    "GPE": "country, city or state",
    "LOC": "place",
    "FAC": "building or site",
    "NORP": "nationality or group",
    "EVENT": "event",
    "PRODUCT": "product",
    "WORK_OF_ART": "work",
    "LAW": "law or treaty",
    "LANGUAGE": "language",
}


@dataclass(slots=True, frozen=True)
class EntityGroup:
    key: str  # used in class names and ids
    heading: str
    types: tuple[str, ...]


ENTITY_GROUPS: tuple[EntityGroup, ...] = (
    EntityGroup("people", "People", ("PERSON",)),
    EntityGroup("organisations", "Organisations", ("ORG",)),
    EntityGroup("places", "Places", ("GPE", "LOC", "FAC")),
    EntityGroup("other", "Groups, events and more", ("NORP", "EVENT", "PRODUCT", "WORK_OF_ART", "LAW", "LANGUAGE")),
)
_OTHER_GROUP = ENTITY_GROUPS[-1]


def entity_type_label(entity_type: str) -> str:
    """'person', 'organisation'...; an unknown label is shown as it is (lower case)."""
    return ENTITY_TYPE_LABELS.get(entity_type, entity_type.replace("_", " ").lower())


def entity_group_of(entity_type: str) -> EntityGroup:
    """The group a type belongs to; types we do not know go to the last group ("other")."""
    return next((group for group in ENTITY_GROUPS if entity_type in group.types), _OTHER_GROUP)


class NamedEntity(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def type(self) -> str: ...


EntityT = TypeVar("EntityT", bound=NamedEntity)


def group_entities(
    entities: Iterable[EntityT], per_group: int, groups: Sequence[EntityGroup] = ENTITY_GROUPS
) -> list[tuple[EntityGroup, list[EntityT]]]:
    """``entities`` (best first) into ``groups``, at most ``per_group`` each, each name once per group (a name
    tagged both GPE and LOC is one place); groups left empty are left out."""
    chosen: dict[str, list[EntityT]] = {group.key: [] for group in groups}
    seen: set[tuple[str, str]] = set()
    for entity in entities:
        group = entity_group_of(entity.type)
        if group.key not in chosen or (group.key, entity.name) in seen or len(chosen[group.key]) >= per_group:
            continue
        seen.add((group.key, entity.name))
        chosen[group.key].append(entity)
    return [(group, chosen[group.key]) for group in groups if chosen[group.key]]
