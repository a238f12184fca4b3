"""The typed records that flow between pipeline stages.

    RawDocument ──extract──► Article ──dedup/enrich/stories──► Article (filled in) ──store──► served

Stages take and return these records; none passes dicts to the next. ``to_dict`` gives the JSON shape used by
the CLI and the API, so both always agree.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

__all__ = [
    "RawDocument",
    "Teaser",
    "Article",
    "EntityMention",
    "DATE_SOURCES",
    "article_id_for",
    "normalize_text_for_hash",
]

# Where a publication date can come from, most to least trustworthy. "unknown" means no date was found:
# newsloom never falls back to the fetch or crawl time.
DATE_SOURCES = (
    "json-ld",
    "meta",
    "time-element",
    "url",
    "text",
    "feed",
    "input",
    "http-header",
    "unknown",
)


@dataclass(slots=True)
class RawDocument:
    """What a source produced, before any extraction.

    ``content`` is bytes when read from the network or a binary file (decoding is the extractor's job, since
    it can use the HTTP charset and the page's own meta charset), or text when the source already decoded it.
    ``content_type`` is "text/html" or "text/plain" (a flattened page); ``fetched_at`` is when it was
    fetched or crawled, kept apart from any publication date.
    """

    content: bytes | str
    content_type: str = "text/html"
    url: str | None = None
    source: str | None = None
    fetched_at: datetime | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Teaser:
    """A link to another story found on a page (a "Related" or "More like this" block), kept out of the body."""

    title: str
    excerpt: str = ""
    url: str | None = None


@dataclass(slots=True)
class EntityMention:
    """A named entity as found in one article, under its canonical name."""

    name: str
    type: str  # PERSON, ORG, GPE, LOC, NORP, EVENT...
    count: int = 1


@dataclass(slots=True)
class Article:
    """A clean article with its metadata and the provenance of each guess.

    ``id`` is stable: a hash of the canonical URL, or of the normalised text when there is no URL, so that
    ingesting the same page twice upserts the same row.
    """

    id: str
    title: str
    paragraphs: list[str]
    url: str | None = None
    canonical_url: str | None = None
    site: str | None = None
    author: str | None = None
    published_at: datetime | None = None
    published_at_source: str = "unknown"
    published_at_confidence: float = 0.0
    language: str | None = None
    image: str | None = None
    page_type: str = "article"
    teasers: list[Teaser] = field(default_factory=list)
    source: str | None = None  # where newsloom got it: a file path, feed URL, WARC name...
    fetched_at: datetime | None = None
    # Filled in by later stages.
    duplicate_of: str | None = None
    story_id: str | None = None
    entities: list[EntityMention] = field(default_factory=list)
    keyphrases: list[str] = field(default_factory=list)
    summary: str | None = None

    @property
    def text(self) -> str:
        """The body as plain text, paragraphs separated by a blank line."""
        return "\n\n".join(self.paragraphs)

    @property
    def word_count(self) -> int:
        return sum(len(p.split()) for p in self.paragraphs)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape shared by the CLI and the API (dates as ISO 8601 strings)."""
        data = asdict(self)
        data["text"] = self.text
        for key in ("published_at", "fetched_at"):
            value = data[key]
            data[key] = value.isoformat() if value is not None else None
        return data


_SPACE = re.compile(r"\s+")
_NON_WORD = re.compile(r"[^\w\s]")


def normalize_text_for_hash(text: str) -> str:
    """Text reduced to what survives re-encoding and re-flowing: NFKC, case-folded, punctuation and
    runs of white space removed. Two copies of a wire story that differ only in quotes, dashes or line breaks
    normalise to the same string."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _NON_WORD.sub(" ", text)
    return _SPACE.sub(" ", text).strip()


def article_id_for(canonical_url: str | None, text: str) -> str:
    """Stable article id: 16 hex digits of SHA-256 over the canonical URL, else over the normalised text."""
    if canonical_url:
        key = "url:" + canonical_url
    else:
        key = "text:" + normalize_text_for_hash(text)
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
