"""Publication dates: parsing date strings, with provenance and no invention.

A date is only ever reported with where it came from (see ``newsloom.model.DATE_SOURCES``). Dates in the future
(beyond a small clock-skew allowance) or before 1990 are rejected rather than guessed around.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

__all__ = ["parse_date_text", "is_plausible", "DateGuess", "find_publication_date"]

_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan", "januar", "jänner", "janvier", "enero", "gennaio", "janeiro", "januari"),
            ("february", "feb", "februar", "feber", "février", "fevrier", "febrero", "febbraio", "fevereiro", "februari"),
            ("march", "mar", "märz", "maerz", "mrz", "mars", "marzo", "março", "maart"),
            ("april", "apr", "avril", "abril", "aprile"),
            ("may", "mai", "mayo", "maggio", "maio", "mei"),
            ("june", "jun", "juni", "juin", "junio", "giugno", "junho"),
            ("july", "jul", "juli", "juillet", "julio", "luglio", "julho"),
            ("august", "aug", "août", "aout", "agosto", "augustus"),
            ("september", "sep", "sept", "septembre", "septiembre", "settembre", "setembro"),
            ("october", "oct", "oktober", "okt", "octobre", "octubre", "ottobre", "outubro"),
            ("november", "nov", "novembre", "noviembre", "novembro"),
            ("december", "dec", "dez", "dezember", "décembre", "decembre", "diciembre", "dicembre", "dezembro"),
        ],
        start=1,
    )
    for name in names
}
_MONTH_RE = "|".join(sorted((re.escape(m) for m in _MONTHS), key=len, reverse=True))

_ISO = re.compile(
    r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?)?(?!\d)"
)
_SLASHED_YMD = re.compile(r"(?<!\d)(\d{4})[/.](\d{1,2})[/.](\d{1,2})(?!\d)")
_DMY_DOTTED = re.compile(r"(?<!\d)(\d{1,2})\.\s?(\d{1,2})\.\s?(\d{4})(?!\d)")
_MONTH_DAY_YEAR = re.compile(rf"\b({_MONTH_RE})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b", re.IGNORECASE)
_DAY_MONTH_YEAR = re.compile(rf"(?<!\d)(\d{{1,2}})(?:st|nd|rd|th)?\.?\s+(?:of\s+)?({_MONTH_RE})\.?,?\s+(\d{{4}})\b", re.IGNORECASE)
_CJK_YMD = re.compile(r"(?<!\d)(\d{4})\s*[年년]\s*(\d{1,2})\s*[月월]\s*(\d{1,2})\s*[日일]?")
_SLASHED_AMBIGUOUS = re.compile(r"(?<![\d/])(\d{1,2})/(\d{1,2})/(\d{4})(?![\d/])")
_CLOCK_SKEW = timedelta(days=1)
_EARLIEST = datetime(1990, 1, 1, tzinfo=timezone.utc)


def is_plausible(value: datetime, now: datetime | None = None) -> bool:
    """A publication date must lie between 1990 and now (plus a day of clock skew)."""
    now = now or datetime.now(timezone.utc)
    aware = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return _EARLIEST <= aware <= now + _CLOCK_SKEW


def _build(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, tz: str | None = None):
    try:
        value = datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None
    if tz:
        if tz == "Z":
            value = value.replace(tzinfo=timezone.utc)
        else:
            sign = 1 if tz[0] == "+" else -1
            digits = tz[1:].replace(":", "")
            offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
            value = value.replace(tzinfo=timezone(sign * offset))
    return value


def parse_date_text(text: str, now: datetime | None = None) -> datetime | None:
    """The first plausible date written in ``text`` (ISO 8601, "March 25, 2024", "25 March 2024",
    "2024/03/25", "25.03.2024"), or None. Ambiguous forms such as "03/04/2024" are not guessed."""
    if not text:
        return None
    text = text[:2000]
    candidates: list[tuple[int, datetime]] = []
    for match in _ISO.finditer(text):
        y, mo, d, h, mi, s, tz = match.groups()
        value = _build(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0), tz)
        if value:
            candidates.append((match.start(), value))
    for match in _SLASHED_YMD.finditer(text):
        value = _build(int(match[1]), int(match[2]), int(match[3]))
        if value:
            candidates.append((match.start(), value))
    for match in _DMY_DOTTED.finditer(text):
        value = _build(int(match[3]), int(match[2]), int(match[1]))
        if value:
            candidates.append((match.start(), value))
    for match in _MONTH_DAY_YEAR.finditer(text):
        value = _build(int(match[3]), _MONTHS[match[1].lower()], int(match[2]))
        if value:
            candidates.append((match.start(), value))
    for match in _DAY_MONTH_YEAR.finditer(text):
        value = _build(int(match[3]), _MONTHS[match[2].lower()], int(match[1]))
        if value:
            candidates.append((match.start(), value))
    for match in _CJK_YMD.finditer(text):
        value = _build(int(match[1]), int(match[2]), int(match[3]))
        if value:
            candidates.append((match.start(), value))
    for match in _SLASHED_AMBIGUOUS.finditer(text):
        first, second = int(match[1]), int(match[2])
        # Only when one reading is impossible: 25/03/2024 is day-first, 03/25/2024 month-first.
        if first > 12 >= second:
            value = _build(int(match[3]), second, first)
        elif second > 12 >= first:
            value = _build(int(match[3]), first, second)
        else:
            value = None
        if value:
            candidates.append((match.start(), value))
    for _, value in sorted(candidates, key=lambda item: item[0]):
        if is_plausible(value, now):
            return value
    return None


# --- Finding the publication date of a page -------------------------------------------------------------------

# Confidence of each kind of evidence, measured on the htmldate evaluation set (see bench/dates.py).
_CONFIDENCE = {
    "json-ld": 0.95,
    "meta": 0.9,
    "microdata": 0.85,
    "time-element": 0.7,
    "url": 0.8,
    "text": 0.5,
    "text-extensive": 0.35,
    "modified": 0.3,
    "http-header": 0.2,
}
# Meta names and properties that mean "first published", most specific first.
_PUBLISHED_META_KEYS = (
    "article:published_time", "og:article:published_time", "article:published", "og:published_time",
    "datepublished", "published_time", "publishdate", "publish-date", "publish_date", "pubdate", "pub_date",
    "parsely-pub-date", "sailthru.date", "dc.date.issued", "dcterms.issued", "dc.date.created", "dcterms.created",
    "dc.date", "dcterms.date", "dc.date.available", "citation_publication_date", "citation_date",
    "originalpublicationdate", "article.published", "article_date_original", "date_published", "date", "datetime",
    "created", "creation_date", "cxenseparse:recs:publishtime", "rnews:datepublished", "og:pubdate",
    "article:post_date", "bt:pubdate", "release_date", "displaydate", "timestamp", "ptime", "weibo:article:create_at",
    "nv:date", "publication_date",
)
_MODIFIED_META_KEYS = (
    "article:modified_time", "og:updated_time", "datemodified", "dc.date.modified", "dcterms.modified",
    "last-modified", "lastmod", "revised", "article:modified", "parsely-updated",
)
_URL_YMD = re.compile(r"(?<!\d)((?:19|20)\d{2})[/_-](\d{1,2})[/_-](\d{1,2})(?!\d)")
_URL_COMPACT = re.compile(r"(?<!\d)((?:19|20)\d{2})(\d{2})(\d{2})(?!\d)")
_DATE_HINT_SELECTOR = ", ".join(
    f'[{attribute}*="{word}"]'
    for attribute in ("class", "id", "itemprop")
    for word in ("date", "time", "publish", "byline", "posted", "datum", "meta", "fecha", "data-pub")
)
_PUBLISHED_WORDS = re.compile(
    r"(?:published|posted|first published|veröffentlicht|erschienen|publié|publicado|pubblicato|gepubliceerd|"
    r"erstellt|datum|date|on)\s*:?\s*",
    re.IGNORECASE,
)
_UPDATED_WORDS = re.compile(r"updated|modified|aktualisiert|geändert|mis à jour|actualizado|stand", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class DateGuess:
    """A publication date with where it came from (one of ``model.DATE_SOURCES``) and how sure we are (0..1)."""

    value: datetime | None
    source: str = "unknown"
    confidence: float = 0.0


_UNKNOWN = DateGuess(None, "unknown", 0.0)


def _guess(text: str | None, source: str, kind: str, now: datetime) -> DateGuess | None:
    if not text or not isinstance(text, str):
        return None
    value = parse_date_text(text.strip()[:200], now)
    return DateGuess(value, source, _CONFIDENCE[kind]) if value else None


def _from_json_ld(metadata, now: datetime) -> DateGuess | None:
    for node in metadata.article_nodes()[:8]:
        for key in ("datePublished", "dateCreated", "uploadDate"):
            found = _guess(node.get(key), "json-ld", "json-ld", now)
            if found:
                return found
    return None


def _from_meta(metadata, now: datetime) -> DateGuess | None:
    for key in _PUBLISHED_META_KEYS:
        found = _guess(metadata.meta.get(key), "meta", "meta", now)
        if found:
            return found
    return None


def _from_microdata(tree, now: datetime) -> DateGuess | None:
    for node in tree.css('[itemprop="datePublished"], [itemprop="dateCreated"], [property="datePublished"]'):
        attributes = node.attributes
        found = _guess(attributes.get("datetime") or attributes.get("content") or node.text(), "meta", "microdata", now)
        if found:
            return found
    return None


def _from_time_elements(tree, now: datetime) -> DateGuess | None:
    elements = tree.css("time")
    best: DateGuess | None = None
    for element in elements[:30]:
        attributes = element.attributes
        hint = f"{attributes.get('class') or ''} {attributes.get('itemprop') or ''} {attributes.get('id') or ''}".lower()
        if "modif" in hint or "updat" in hint:
            continue
        raw = attributes.get("datetime") or element.text()
        found = _guess(raw, "time-element", "time-element", now)
        if not found:
            continue
        if "pubdate" in attributes or "publish" in hint or "created" in hint:
            return found
        if best is None:
            best = found
    return best


def _from_url(url: str | None, now: datetime) -> DateGuess | None:
    if not url:
        return None
    path = url.split("?", 1)[0]
    for pattern in (_URL_YMD, _URL_COMPACT):
        match = pattern.search(path)
        if match:
            year, month, day = int(match[1]), int(match[2]), int(match[3])
            try:
                value = datetime(year, month, day)
            except ValueError:
                continue
            if is_plausible(value, now):
                return DateGuess(value, "url", _CONFIDENCE["url"])
    return None


def _from_visible_text(tree, now: datetime) -> DateGuess | None:
    """Dates in bylines and date-ish elements ("Published 25 March 2024"), skipping "updated" ones."""
    for node in tree.css(_DATE_HINT_SELECTOR)[:60]:
        attributes = node.attributes
        hint = f"{attributes.get('class') or ''} {attributes.get('id') or ''}".lower()
        if "modif" in hint or "updat" in hint:
            continue
        text = node.text(separator=" ")
        if not text or len(text) > 300 or _UPDATED_WORDS.search(text) and not _PUBLISHED_WORDS.search(text):
            continue
        found = _guess(text, "text", "text", now)
        if found:
            return found
    return None


def _from_modified(metadata, now: datetime) -> DateGuess | None:
    """Only when nothing says "published": a modification date is the best upper bound we have."""
    for node in metadata.article_nodes()[:8]:
        found = _guess(node.get("dateModified"), "json-ld", "modified", now)
        if found:
            return found
    for key in _MODIFIED_META_KEYS:
        found = _guess(metadata.meta.get(key), "meta", "modified", now)
        if found:
            return found
    return None


def _from_headers(headers, now: datetime) -> DateGuess | None:
    from email.utils import parsedate_to_datetime

    from .decode import header_value

    raw = header_value(headers, "last-modified")
    if not raw:
        return None
    try:
        value = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if value is None or not is_plausible(value, now):
        return None
    return DateGuess(value, "http-header", _CONFIDENCE["http-header"])


def find_publication_date(tree_or_html, url: str | None = None, headers=None, metadata=None, now: datetime | None = None) -> DateGuess:
    """The publication date of a page and its provenance, or ``DateGuess(None, "unknown", 0.0)``.

    ``tree_or_html`` is a parsed ``LexborHTMLParser`` tree (read before scripts are stripped), HTML text or bytes.
    Evidence is tried from the most to the least trustworthy; a date after ``now`` (plus a day of skew) is never
    returned, and a modification date is used only when nothing states the publication date."""
    from selectolax.lexbor import LexborHTMLParser

    from .metadata import read_metadata

    now = now or datetime.now(timezone.utc)
    if isinstance(tree_or_html, (bytes, str)):
        from .decode import decode_bytes

        text = decode_bytes(tree_or_html, headers) if isinstance(tree_or_html, bytes) else tree_or_html
        tree = LexborHTMLParser(text)
    else:
        tree = tree_or_html
    if metadata is None:
        metadata = read_metadata(tree, url)
    finders = (
        lambda: _from_json_ld(metadata, now),
        lambda: _from_meta(metadata, now),
        lambda: _from_microdata(tree, now),
        lambda: _from_url(url, now),
        lambda: _from_time_elements(tree, now),
        lambda: _from_visible_text(tree, now),
        lambda: _from_modified(metadata, now),
        lambda: _from_headers(headers, now),
    )
    for finder in finders:
        found = finder()
        if found is not None:
            return found
    return _UNKNOWN
