"""Publication dates: parsing date strings, with provenance and no invention.

A date is only ever reported with where it came from (see ``newsloom.model.DATE_SOURCES``). Dates in the future
(beyond a small clock-skew allowance) or before 1990 are rejected rather than guessed around.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from .metadata import MAX_JSON_LD_CHARS

__all__ = ["parse_date_text", "is_plausible", "DateGuess", "find_publication_date"]

_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan", "januar", "jänner", "janvier", "enero", "gennaio", "janeiro", "januari", "ianuarie",
             "января", "январь", "stycznia", "styczeń", "ocak", "يناير", "كانون الثاني"),
            ("february", "feb", "februar", "feber", "février", "fevrier", "febrero", "febbraio", "fevereiro", "februari",
             "februarie", "февраля", "февраль", "lutego", "luty", "şubat", "فبراير", "شباط"),
            ("march", "mar", "märz", "maerz", "mrz", "mars", "marzo", "março", "maart", "martie", "марта", "март",
             "marca", "marzec", "mart", "مارس", "آذار"),
            ("april", "apr", "avril", "abril", "aprile", "aprilie", "апреля", "апрель", "kwietnia", "kwiecień", "nisan",
             "أبريل", "ابريل", "نيسان"),
            ("may", "mai", "mayo", "maggio", "maio", "mei", "maj", "мая", "май", "maja", "mayıs", "مايو", "أيار"),
            ("june", "jun", "juni", "juin", "junio", "giugno", "junho", "iunie", "июня", "июнь", "czerwca", "czerwiec",
             "haziran", "يونيو", "حزيران"),
            ("july", "jul", "juli", "juillet", "julio", "luglio", "julho", "iulie", "июля", "июль", "lipca", "lipiec",
             "temmuz", "يوليو", "تموز"),
            ("august", "aug", "août", "aout", "agosto", "augustus", "augusti", "августа", "август", "sierpnia", "sierpień",
             "ağustos", "أغسطس", "اغسطس", "آب"),
            ("september", "sep", "sept", "septembre", "septiembre", "settembre", "setembro", "septembrie", "сентября",
             "сентябрь", "września", "wrzesień", "eylül", "سبتمبر", "أيلول"),
            ("october", "oct", "oktober", "okt", "octobre", "octubre", "ottobre", "outubro", "octombrie", "октября",
             "октябрь", "października", "październik", "ekim", "أكتوبر", "اكتوبر", "تشرين الأول"),
            ("november", "nov", "novembre", "noviembre", "novembro", "noiembrie", "ноября", "ноябрь", "listopada",
             "listopad", "kasım", "نوفمبر", "تشرين الثاني"),
            ("december", "dec", "dez", "dezember", "décembre", "decembre", "diciembre", "dicembre", "dezembro",
             "decembrie", "декабря", "декабрь", "grudnia", "grudzień", "aralık", "ديسمبر", "كانون الأول"),
        ],
        start=1,
    )
    for name in names
}
_MONTH_RE = "|".join(sorted((re.escape(m) for m in _MONTHS), key=len, reverse=True))

_ISO = re.compile(
    r"(\d(?<!\d\d)\d{3})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?)?(?!\d)"
)
# Not "2020/7/11-12", a range of days.
_SLASHED_YMD = re.compile(r"(\d(?<!\d\d)\d{3})[/.](\d{1,2})[/.](\d{1,2})(?!\d|[-–]\d)")
_DMY_DOTTED = re.compile(r"(\d(?<!\d\d)\d?)(?:\.\s?|\s\|\s)(\d{1,2})(?:\.\s?|\s\|\s)(\d{4})(?!\d)")
# "March 25, 2024" is found from its digits backwards: a pattern that starts with ~200 month names is tried at
# every word of a page and made the whole-text search ten times slower.
# Every pattern starts with a digit and checks what precedes it right after (``\d(?<!\d\d)`` rather than
# ``(?<!\d)\d``): a pattern that opens with a character class lets the regex engine skip ahead to the next
# digit, one that opens with a lookbehind is tried at every character (four times slower over a page).
_DAY_COMMA_YEAR = re.compile(r"(\d(?<![\d.,/-]\d)\d?)(?:st|nd|rd|th)?,?\s+(\d{4})\b", re.IGNORECASE)
_MONTH_BEFORE = re.compile(rf"\b({_MONTH_RE})\.?\s+$", re.IGNORECASE)
_MONTH_LOOKBACK_CHARS = 40
# "24 نيسان / أبريل 2020": Levantine and Gulf pages print the month under both of its Arabic names.
_DAY_MONTH_YEAR = re.compile(
    rf"(\d(?<!\d\d)\d?)(?:st|nd|rd|th|er|º)?\.?\s+(?:of\s+|de\s+|del\s+)?({_MONTH_RE})\.?(?:\s*/\s*(?:{_MONTH_RE}))?,?\s+(?:de\s+|del\s+)?(\d{{4}})\b",
    re.IGNORECASE,
)
# "02.12.19": a two-digit year, read only right by the headline where nothing but a dateline looks like it.
_DMY_SHORT_YEAR = re.compile(r"(\d(?<![\d.]\d)\d?)\.(\d{1,2})\.(\d{2})(?![\d.])")
_CJK_YMD = re.compile(r"(\d(?<!\d\d)\d{3})\s*[年년]\s*(\d{1,2})\s*[月월]\s*(\d{1,2})\s*[日일]?")
_SLASHED_AMBIGUOUS = re.compile(r"(\d(?<![\d/]\d)\d?)/(\d{1,2})/(\d{4})(?![\d/])")
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
    "2024/03/25", "25.03.2024", "2024年3月25日"), or None. Ambiguous forms such as "03/04/2024" are not guessed."""
    if not text:
        return None
    for _, value in _date_candidates(text[:2000]):
        if is_plausible(value, now):
            return value
    return None


def _date_candidates(text: str) -> list[tuple[int, datetime]]:
    """Every date written in ``text`` with its offset, in text order (plausible or not)."""
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
    for match in _DAY_COMMA_YEAR.finditer(text):
        start = max(0, match.start() - _MONTH_LOOKBACK_CHARS)
        month = _MONTH_BEFORE.search(text, start, match.start())
        value = month and _build(int(match[2]), _MONTHS[month[1].lower()], int(match[1]))
        if value:
            candidates.append((month.start(), value))
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
        # Only when one reading is impossible (25/03/2024 is day-first, 03/25/2024 month-first) or when both
        # readings are the same day (08/08/2017); 01/01/2004 is how forms fill in a year without a day.
        if first == second > 1:
            value = _build(int(match[3]), first, first)
        elif first > 12 >= second:
            value = _build(int(match[3]), second, first)
        elif second > 12 >= first:
            value = _build(int(match[3]), first, second)
        else:
            value = None
        if value:
            candidates.append((match.start(), value))
    candidates.sort(key=lambda item: item[0])
    return candidates


# --- Finding the publication date of a page -------------------------------------------------------------------

# Confidence of each kind of evidence, measured on the htmldate evaluation set (see bench/dates.py).
_CONFIDENCE = {
    "json-ld": 0.95,
    "json-ld-broken": 0.85,
    "meta": 0.9,
    "microdata": 0.85,
    "time-element": 0.7,
    "url": 0.8,
    "text": 0.5,
    "text-extensive": 0.35,
    "text-headline": 0.6,
    "script-json": 0.6,
    "modified": 0.3,
    "meta-other": 0.5,
    "image-url": 0.3,
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
# Meta names that say "a date" rather than "first published": CMSs fill them with the page's generation time.
_GENERIC_META_KEYS = frozenset(
    {"date", "datetime", "created", "timestamp", "dc.date", "dcterms.date", "dc.date.created", "dcterms.created"}
)
_MODIFIED_META_KEYS = (
    "article:modified_time", "og:updated_time", "datemodified", "dc.date.modified", "dcterms.modified",
    "last-modified", "lastmod", "revised", "article:modified", "parsely-updated",
)
# "/2023/10/03-..." or "/2023/10/3/" but not "/2023/10/3-fragen-..." (a number that starts the slug).
_URL_YMD = re.compile(r"(?<!\d)((?:19|20)\d{2})[/_-](\d{1,2})[/_-](\d{2}|\d(?=/))(?!\d)")
# "/meldungen/29-10-2021": day first, the order of most of the world; taken only when the day cannot be a month.
_URL_YEAR_MONTH = re.compile(r"/((?:19|20)\d{2})/(0?[1-9]|1[0-2])/")
_URL_DMY = re.compile(r"(?<![\d.])(\d{2})[-_.](\d{2})[-_.]((?:19|20)\d{2})(?!\d)")
_URL_COMPACT = re.compile(r"(?<!\d)((?:19|20)\d{2})(\d{2})(\d{2})(?!\d)")
_DATE_HINT_SELECTOR = ", ".join(
    f'[{attribute}*="{word}" i]'
    for attribute in ("class", "id", "itemprop")
    for word in ("date", "time", "publish", "publica", "byline", "posted", "datum", "meta", "fecha", "data-pub")
)
_PUBLISHED_WORDS = re.compile(
    r"(?:published|posted|first published|veröffentlicht|erschienen|publié|publicado|pubblicato|gepubliceerd|"
    r"erstellt|datum|date|on)\s*:?\s*",
    re.IGNORECASE,
)
_MICRODATA_SELECTOR = (
    '[itemprop="datePublished"], [itemprop="dateCreated"], [property$="datePublished"], [property$="dateCreated"]'
)
_DATE_KEY = re.compile(r"date|time|publish|created|pubdate|issued|upload", re.IGNORECASE)
_NOT_PUBLISHED_KEY = re.compile(r"modif|updat|expir|end|start|valid|event|birth|refresh|revis", re.IGNORECASE)
_ANNOUNCED_DATE = re.compile(
    r"\b(?:published|posted|veröffentlicht|erschienen|publié|publicado|pubblicato|gepubliceerd|erstellt|datum|"
    r"date|geschrieben|verfasst|online seit|stand|am|vom|on|le|el|il)\W{0,3}(?:am|on|le)?\W{0,3}"
    r"(?:\w+,?\s+)?$",
    re.IGNORECASE,
)
_ANNOUNCED_UPDATE = re.compile(
    r"(?:updated|last modified|last changed|aktualisiert|geändert|stand|mis à jour|actualizado|aggiornato)"
    r"\W{0,3}(?:am|on|le|el|il)?\W{0,3}(?:\w+,?\s+)?(?:um\s+\S+\s+)?$",
    re.IGNORECASE,
)
_EXTENSIVE_TEXT_CHARS = 60_000
# Date-bearing elements that date something else: comments, teasers of other stories, edits, the clock.
_NOT_THIS_PAGE_HINT = re.compile(
    r"modif|updat|comment|teaser|related|reply|repli|recent|sidebar|widget|footer|copyright|clock|current|"
    r"event|calendar|weather",
    re.IGNORECASE,
)
_SPACE = re.compile(r"\s+")
_AFTER_HEADLINE_CHARS = 300
_HEADLINE_SEARCH_CHARS = 400_000
_TITLE_SEPARATOR = re.compile(r"\s+[|\-–—·•»:]\s+")
_BEFORE_HEADLINE_CHARS = 150
_SCRIPT_SCAN_CHARS = 2_000_000
_SCRIPT_PUBLISHED = re.compile(
    r'["\']?(?:datePublished|date_published|published_?[aA]t|publish_?[dD]ate|publication_?[dD]ate|pub_?[dD]ate|'
    r'firstPublished(?:At|Date)?|first_published(?:_at)?)["\']?\s*:\s*["\']([^"\']{8,40})["\']'
)
_LD_PUBLISHED = re.compile(r'"datePublished"\s*:\s*"([^"]{8,40})"')
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


def _from_json_ld(metadata, now: datetime, keys: tuple[str, ...] = ("datePublished", "dateCreated")) -> DateGuess | None:
    for node in metadata.article_nodes()[:8]:
        for key in keys:
            found = _guess(node.get(key), "json-ld", "json-ld", now)
            if found:
                return found
    return None


def _meta_published(metadata, now: datetime) -> tuple[DateGuess, str] | None:
    """The first meta field that states the publication date, with its name."""
    for key in _PUBLISHED_META_KEYS:
        found = _guess(metadata.meta.get(key), "meta", "meta", now)
        if found:
            return found, key
    return None


def _from_microdata(tree, now: datetime) -> DateGuess | None:
    for node in tree.css(_MICRODATA_SELECTOR):
        attributes = node.attributes
        found = _guess(attributes.get("datetime") or attributes.get("content") or node.text(), "meta", "microdata", now)
        if found:
            return found
    return None


def _dates_something_else(node) -> bool:
    """True when the element or one of its three nearest ancestors is a comment, teaser or similar."""
    for _ in range(4):
        if node is None:
            return False
        attributes = node.attributes
        hint = f"{attributes.get('class') or ''} {attributes.get('id') or ''} {attributes.get('itemprop') or ''}"
        if len(hint) > 2 and _NOT_THIS_PAGE_HINT.search(hint):
            return True
        node = node.parent
    return False


def _path_of(href: str, base: str | None) -> str | None:
    """The path ``href`` leads to (None for a malformed one, e.g. ``http://[bad``)."""
    from urllib.parse import urljoin, urlsplit

    try:
        return urlsplit(urljoin(base or "", href)).path.rstrip("/")
    except ValueError:
        return None


def _in_embed_or_teaser(node, page_urls: tuple[str, ...]) -> bool:
    """True for a ``<time>`` inside an embedded post (``<blockquote>``) or inside a link to another page (a
    teaser); a link to the page itself (a permalink around the post's own date) does not count."""
    for _ in range(5):
        node = node.parent
        if node is None:
            return False
        if node.tag == "blockquote":
            return True
        if node.tag == "a" and page_urls:
            href = (node.attributes.get("href") or "").strip()
            if href and not href.startswith("#"):
                target = _path_of(href, page_urls[0])
                return target is not None and target not in {_path_of(u, None) for u in page_urls}
    return False


def _from_time_elements(tree, now: datetime, page_urls: tuple[str, ...] = ()) -> DateGuess | None:
    best: DateGuess | None = None
    for element in tree.css("time")[:30]:
        if _dates_something_else(element) or _in_embed_or_teaser(element, page_urls):
            continue
        attributes = element.attributes
        hint = f"{attributes.get('class') or ''} {attributes.get('itemprop') or ''} {attributes.get('id') or ''}".lower()
        found = _guess(attributes.get("datetime") or element.text(), "time-element", "time-element", now)
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
    for pattern in (_URL_YMD, _URL_COMPACT, _URL_DMY):
        match = pattern.search(path)
        if match:
            if pattern is _URL_DMY:
                day, month, year = int(match[1]), int(match[2]), int(match[3])
                if day <= 12 and day != month:
                    continue
            else:
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
        hint = f"{attributes.get('class') or ''} {attributes.get('id') or ''}"
        if _NOT_THIS_PAGE_HINT.search(hint):
            continue
        text = node.text(separator=" ")
        if not text or len(text) > 300 or _UPDATED_WORDS.search(text) and not _PUBLISHED_WORDS.search(text):
            continue
        found = _guess(text, "text", "text", now)
        if found:
            return found
    return None


def _visible_body_text(body, limit: int = _EXTENSIVE_TEXT_CHARS) -> str:
    """The body's text without the code of inline scripts and styles (read before they are stripped)."""
    text = body.text(separator=" ")[:limit]
    # Photo captions date the photo ("..., France, January 16, 2020"), not the article.
    # The codes come in document order, as in the text: each is looked for from where the previous one ended.
    kept: list[str] = []
    cursor = 0
    for node in body.css("script, style, noscript, template, figcaption"):
        code = node.text()
        if not code or not code.strip():
            continue
        at = text.find(code, cursor)
        if at >= 0:
            kept.append(text[cursor:at])
            cursor = at + len(code)
    if not kept:
        return text
    kept.append(text[cursor:])
    return " ".join(kept)


def _short_year_date(text: str) -> list[tuple[int, datetime]]:
    """``02.12.19`` read as 2 December 2019: only ever asked about the few characters next to a headline."""
    match = _DMY_SHORT_YEAR.search(text)
    value = _build(2000 + int(match[3]), int(match[2]), int(match[1])) if match else None
    return [(match.start(), value)] if match and value else []


def _dateline_inside_heading(heading, now: datetime) -> DateGuess | None:
    """``<h1>Title<small>02.02.2022 • Sport</small></h1>``: a short element inside the heading that holds a date
    is the dateline (a date in the title's own words is not)."""
    whole = _SPACE.sub(" ", heading.text(separator=" ")).strip()
    for node in heading.css("small, span, time, div, p")[:10]:
        text = _SPACE.sub(" ", node.text(separator=" ")).strip()
        if 6 <= len(text) <= 80 and text != whole:
            found = _guess(text, "text", "text-headline", now)
            if found is not None:
                return found
    return None


def _headline_candidates(tree, heading, metadata) -> list[str]:
    """The headline as the page prints it: the ``<h1>``, else the stated title (``og:title``, the ``<title>``'s
    first segment) for pages whose ``<h1>`` holds a logo or a section name."""
    found = [heading.text(separator=" ")] if heading is not None else []
    if metadata is not None:
        found += [metadata.meta.get("og:title") or "", metadata.meta.get("twitter:title") or ""]
    title = tree.css_first("title")
    if title is not None:
        found.append(_TITLE_SEPARATOR.split(title.text())[0])
    cleaned = (_SPACE.sub(" ", text).strip() for text in found)
    return [text for text in cleaned if len(text) >= 8]


def _from_headline_neighbourhood(tree, now: datetime, metadata=None) -> DateGuess | None:
    """A date printed right by the page's main heading: news pages put the dateline just above or below the
    headline (or inside the ``<h1>``, in a ``<small>``), while dates further away date comments, teasers
    and events."""
    body = tree.body
    if body is None:
        return None
    heading = tree.css_first("h1")
    in_heading = _dateline_inside_heading(heading, now) if heading is not None else None
    if in_heading is not None:
        return in_heading
    headlines = _headline_candidates(tree, heading, metadata)
    if not headlines:
        return None
    # Menus can run to tens of thousands of characters before the headline.
    text = _visible_body_text(body, _HEADLINE_SEARCH_CHARS)
    for headline in headlines:
        # The headline is looked up with flexible whitespace and only the text around it is normalised:
        # normalising a whole page's text cost more than everything else this finder does.
        found = re.search(r"\s+".join(map(re.escape, headline.split(" "))), text)
        if found is not None:
            before = _normalised_tail(text, found.start(), _BEFORE_HEADLINE_CHARS)
            after = _normalised_head(text, found.end(), _AFTER_HEADLINE_CHARS)
            return _date_around(before, after, headline, now)
    return None


def _normalised_tail(text: str, end: int, size: int) -> str:
    """The last ``size`` characters of ``text[:end]`` with whitespace runs read as one space."""
    span = size * 8
    while True:
        start = max(0, end - span)
        window = _SPACE.sub(" ", text[start:end])
        if len(window) > size or start == 0:
            return window[-size:] if size else ""
        span *= 4


def _normalised_head(text: str, start: int, size: int) -> str:
    """The first ``size`` characters of ``text[start:]`` with whitespace runs read as one space."""
    span = size * 8
    while True:
        end = start + span
        window = _SPACE.sub(" ", text[start:end])
        if len(window) > size or end >= len(text):
            return window[:size]
        span *= 4


def _date_around(before: str, after: str, headline: str, now: datetime) -> DateGuess | None:
    """The date nearest the headline (just after or just before it, in the text ``before`` and ``after`` it),
    else one in it."""
    near_before = max(0, len(before) - 60)
    nearest: tuple[int, datetime] | None = None
    for window, near_start, near_end, is_after in ((after, 0, 60, True), (before, near_before, len(before), False)):
        for position, value in _dates_in_window(window, near_start, near_end, now):
            distance = position if is_after else len(before) - position
            if nearest is None or distance < nearest[0]:
                nearest = (distance, value)
    if nearest is None:
        found = _dates_in_window(headline, 0, len(headline), now)
        nearest = (0, found[0][1]) if found else None
    return DateGuess(nearest[1], "text", _CONFIDENCE["text-headline"]) if nearest else None


def _dates_in_window(window: str, near_start: int, near_end: int, now: datetime) -> list[tuple[int, datetime]]:
    """Plausible dates of a window that are not announced as updates; two-digit years only near its edge."""
    candidates = _date_candidates(window) or [
        (near_start + position, value) for position, value in _short_year_date(window[near_start:near_end])
    ]
    return [
        (position, value)
        for position, value in candidates
        if is_plausible(value, now) and not _UPDATED_WORDS.search(window[max(0, position - 30) : position])
    ]


def _from_attribute_dates(tree, now: datetime) -> DateGuess | None:
    """Dates kept in attributes for tooltips or scripts: ``<abbr title="Friday, 6 October 2017">``,
    ``data-utime="1507287600"`` (seconds since the epoch)."""
    for node in tree.css("abbr[title], [data-utime]")[:20]:
        if _dates_something_else(node):
            continue
        attributes = node.attributes
        stamp = attributes.get("data-utime")
        if stamp and stamp.isdigit() and 9 <= len(stamp) <= 10:
            value = datetime.fromtimestamp(int(stamp), tz=timezone.utc)
            if is_plausible(value, now):
                return DateGuess(value, "text", _CONFIDENCE["time-element"])
        found = _guess(attributes.get("title"), "text", "time-element", now)
        if found:
            return found
    return None


def _parses_as_json(code: str) -> bool:
    import json

    try:
        json.loads(code)
    except (ValueError, RecursionError):  # nested too deep to parse is broken too, for this purpose
        return False
    return True


def _from_broken_json_ld(tree, now: datetime) -> DateGuess | None:
    """``datePublished`` in a JSON-LD block that is not valid JSON (two objects one after the other, a trailing
    comma): the publisher still stated it for machines."""
    for script in tree.css('script[type="application/ld+json"]')[:10]:
        code = script.text() or ""
        if len(code) > MAX_JSON_LD_CHARS or "datePublished" not in code or _parses_as_json(code):
            continue
        match = _LD_PUBLISHED.search(code)
        if match:
            return _guess(match.group(1), "json-ld", "json-ld-broken", now)
    return None


def _from_script_json(tree, now: datetime) -> DateGuess | None:
    """``"published_at": "2019-03-02T06:22:28"`` in a page's inline data (shop and app state, not JSON-LD)."""
    scanned = 0
    for script in tree.css("script"):
        if script.attributes.get("src") or script.attributes.get("type") == "application/ld+json":
            continue
        code = script.text() or ""
        match = _SCRIPT_PUBLISHED.search(code[: _SCRIPT_SCAN_CHARS - scanned])
        if match:
            return _guess(match.group(1), "meta", "script-json", now)
        scanned += len(code)
        if scanned >= _SCRIPT_SCAN_CHARS:
            break
    return None


def _from_any_meta(metadata, now: datetime) -> DateGuess | None:
    """Site-specific meta names that still say "date" ("five_hundred_pixels:uploaded", "article.created")."""
    for key, value in metadata.meta.items():
        if _DATE_KEY.search(key) and not _NOT_PUBLISHED_KEY.search(key):
            found = _guess(value, "meta", "meta-other", now)
            if found:
                return found
    return None


def _from_text_extensive(tree, now: datetime) -> DateGuess | None:
    """Every date written in the page body: the first one announced as a publication date ("veröffentlicht
    am 12.01.2017", "Datum: ..."), else the one written most often (ties: the earliest)."""
    body = tree.body
    if body is None:
        return None
    text = body.text(separator=" ")[:_EXTENSIVE_TEXT_CHARS]
    counts: dict[datetime, int] = {}
    last_update: datetime | None = None
    for position, value in _date_candidates(text):
        if not is_plausible(value, now):
            continue
        before = text[max(0, position - 40) : position]
        if _ANNOUNCED_DATE.search(before) and not _UPDATED_WORDS.search(before):
            return DateGuess(value, "text", _CONFIDENCE["text"])
        if last_update is None and _ANNOUNCED_UPDATE.search(before):
            last_update = value
        day = datetime(value.year, value.month, value.day)
        counts[day] = counts.get(day, 0) + 1
    if last_update is not None:
        # A page that never says when it was published but says when it was last revised ("Stand:",
        # "zuletzt geändert am"): that date describes the text as it is, unlike dates the text mentions.
        return DateGuess(last_update, "text", _CONFIDENCE["text-extensive"])
    if not counts:
        return None
    best = max(counts, key=lambda day: (counts[day], -day.toordinal()))
    return DateGuess(best, "text", _CONFIDENCE["text-extensive"])


def _same_instant_local(utc_value: datetime, other: datetime) -> bool:
    """True when ``other`` is ``utc_value`` written in a local time zone: the same minutes and seconds, a whole
    number of quarter hours apart, at most 14 hours away (naive values are read as wall-clock time)."""
    if other.utcoffset() not in (None, timedelta(0)):
        return other.astimezone(timezone.utc).replace(tzinfo=None) == utc_value.replace(tzinfo=None)
    if other.tzinfo is not None:
        return False
    gap = utc_value.replace(tzinfo=None) - other
    return timedelta(0) < abs(gap) <= timedelta(hours=14) and gap % timedelta(minutes=15) == timedelta(0)


def _instant(text: str) -> datetime | None:
    """A date with a time of day, ISO 8601 or RFC 2822 ("Sat, 19 Oct 2019 00:04:00 +0200"); None otherwise."""
    if not text:
        return None
    match = _ISO.search(text[:80])
    if match is not None and match[4] is not None:
        y, mo, d, h, mi, sec, tz = match.groups()
        return _build(int(y), int(mo), int(d), int(h), int(mi), int(sec or 0), tz)
    if match is None and "," in text[:5]:
        from email.utils import parsedate_to_datetime

        try:
            return parsedate_to_datetime(text[:80])
        except (TypeError, ValueError, IndexError):
            return None
    return None


def _publisher_local_time(found: DateGuess, tree, metadata) -> DateGuess:
    """A structured date written in UTC falls on the day before or after the one the publisher printed when
    the page also states the same instant in its local time (``<time datetime="...-08:00">``, a meta field
    without a zone): the local day is the publication day."""
    value = found.value
    if value is None or found.source not in ("json-ld", "meta") or value.utcoffset() != timedelta(0):
        return found
    if value.hour == 0 and value.minute == 0 and value.second == 0:
        return found  # a bare day, not an instant
    texts = [v for k, v in metadata.meta.items() if _DATE_KEY.search(k) and not _NOT_PUBLISHED_KEY.search(k)]
    texts += [t.attributes.get("datetime") or "" for t in tree.css("time[datetime]")[:10]]
    for text in texts:
        other = _instant(text)
        if other is not None and other.date() != value.date() and _same_instant_local(value, other):
            return DateGuess(other, found.source, found.confidence)
    return found


def _local_day(found: DateGuess, url: str | None, now: datetime) -> DateGuess:
    """A UTC timestamp can fall on the next or previous calendar day from the publisher's own: when the
    URL carries a date one day apart, the URL's day is the day the publisher printed."""
    if found.source not in ("json-ld", "meta") or found.value is None or url is None:
        return found
    from_url = _from_url(url, now)
    if from_url is None or from_url.value is None:
        return found
    gap = from_url.value.date() - found.value.date()
    if abs(gap) == timedelta(days=1) and found.value.utcoffset() == timedelta(0):
        if _local_day_reachable(found.value, gap.days):
            return DateGuess(from_url.value, "url", _CONFIDENCE["url"])
        return found
    if from_url.value.date() < found.value.date() - timedelta(days=1):
        # Republished or re-dated pages keep their first URL: the URL day is the original publication.
        return DateGuess(from_url.value, "url", _CONFIDENCE["url"])
    return found


def _local_day_reachable(utc_value: datetime, days: int) -> bool:
    """Whether a publisher's clock can show ``utc_value`` on the day before (``days`` -1) or after (+1): the
    day before needs a zone behind UTC by more than the time of day (inhabited zones go back 10 hours), the
    day after one ahead by more than the time left in the day (up to 14 hours)."""
    minutes = utc_value.hour * 60 + utc_value.minute
    return minutes < 10 * 60 if days < 0 else minutes >= 10 * 60


def _from_image_url(metadata, now: datetime) -> DateGuess | None:
    """Upload paths of the page's own image ("/files/2016/05/04/cover.png") date it when nothing else does."""
    found = _from_url(metadata.image, now)
    return DateGuess(found.value, "url", _CONFIDENCE["image-url"]) if found else None


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


def _is_bare_day(value: datetime) -> bool:
    """A date without a time of day (``2022-01-15``): a CMS field filled in by hand or by a template."""
    return value.tzinfo is None and value.hour == value.minute == value.second == 0


def _printed_dateline(tree, now: datetime, page_urls: tuple[str, ...], metadata) -> DateGuess | None:
    """The date the page shows its readers as its own: a ``<time>`` element, else the date by the headline."""
    return _from_time_elements(tree, now, page_urls) or _from_headline_neighbourhood(tree, now, metadata)


def _from_stated(tree, metadata, now: datetime, page_urls: tuple[str, ...]) -> DateGuess | None:
    """The publication date stated for machines (JSON-LD, then meta), checked against the dateline the page
    prints. The printed dateline wins when the stated value is weak evidence: a generic ``date`` field (often the
    time the page was generated), a bare day without a time (filled in by a template), or a JSON-LD
    ``datePublished`` that the page itself shows as superseded by its ``dateModified`` day."""
    found = _from_json_ld(metadata, now)
    meta = _meta_published(metadata, now)
    if found is not None and not _is_bare_day(found.value):
        modified = _json_ld_modified_day(metadata, now)
        rival = meta[0] if meta and meta[0].value.date() != found.value.date() else None
        if (modified is None or modified <= found.value.date()) and rival is None:
            return found
        printed = _printed_dateline(tree, now, page_urls, metadata)
        if printed is None or not _agrees_with_url(printed.value, page_urls):
            return found
        if printed.value.date() == modified:
            return printed
        # JSON-LD and meta tags disagree: the one the page prints is the one its editors see.
        return rival if rival is not None and printed.value.date() == rival.value.date() else found
    if found is None:
        if meta is None:
            return None
        found, key = meta
        if key not in _GENERIC_META_KEYS and not _is_bare_day(found.value):
            return found
    printed = _printed_dateline(tree, now, page_urls, metadata)
    if printed is not None and printed.value.date() != found.value.date() and _agrees_with_url(printed.value, page_urls):
        return printed
    return found


def _agrees_with_url(value: datetime, page_urls: tuple[str, ...]) -> bool:
    """False when the page's URL names a year and month (``/2019/10/``) other than ``value``'s."""
    for url in page_urls:
        match = _URL_YEAR_MONTH.search(url.split("?", 1)[0])
        if match:
            return (value.year, value.month) == (int(match[1]), int(match[2]))
    return True


def _json_ld_modified_day(metadata, now: datetime):
    for node in metadata.article_nodes()[:8]:
        found = _guess(node.get("dateModified"), "json-ld", "modified", now)
        if found:
            return found.value.date()
    return None


def find_publication_date(tree_or_html, url: str | None = None, headers=None, metadata=None, now: datetime | None = None) -> DateGuess:
    """The publication date of a page and its provenance, or ``DateGuess(None, "unknown", 0.0)``.

    ``tree_or_html`` is a parsed ``LexborHTMLParser`` tree (read before scripts are stripped), HTML text or bytes.
    Evidence is tried from the most to the least trustworthy; a date after ``now`` (plus a day of skew) is never
    returned, and a modification date is used only when nothing states the publication date."""
    from selectolax.lexbor import LexborHTMLParser

    from .metadata import read_machine_metadata

    now = now or datetime.now(timezone.utc)
    if isinstance(tree_or_html, (bytes, str)):
        from .decode import decode_bytes

        text = decode_bytes(tree_or_html, headers) if isinstance(tree_or_html, bytes) else tree_or_html
        tree = LexborHTMLParser(text)
    else:
        tree = tree_or_html
    if metadata is None:
        metadata = read_machine_metadata(tree, url)
    page_urls = tuple(u for u in (url, metadata.canonical_url) if u)
    stated = _from_stated(tree, metadata, now, page_urls)
    if stated is not None:
        return _local_day(_publisher_local_time(stated, tree, metadata), url, now)
    finders = (
        lambda: _from_broken_json_ld(tree, now),
        # A video's upload date dates the page only when the page states nothing else (it is often an embed).
        lambda: _from_json_ld(metadata, now, ("uploadDate",)),
        lambda: _from_microdata(tree, now),
        lambda: _from_url(url, now) or _from_url(metadata.canonical_url, now),
        lambda: _from_time_elements(tree, now, page_urls),
        lambda: _from_headline_neighbourhood(tree, now, metadata),
        lambda: _from_visible_text(tree, now),
        lambda: _from_attribute_dates(tree, now),
        lambda: _from_any_meta(metadata, now),
        lambda: _from_script_json(tree, now),
        lambda: _from_text_extensive(tree, now),
        lambda: _from_image_url(metadata, now),
        lambda: _from_modified(metadata, now),
        lambda: _from_headers(headers, now),
    )
    for finder in finders:
        found = finder()
        if found is not None:
            return _local_day(_publisher_local_time(found, tree, metadata), url, now)
    return _UNKNOWN
