"""Publication dates: parsing date strings, with provenance and no invention.

A date is only ever reported with where it came from (see ``newsloom.model.DATE_SOURCES``). Dates in the future
(beyond a small clock-skew allowance) or before 1990 are rejected rather than guessed around.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

__all__ = ["parse_date_text", "is_plausible"]

_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan", "januar", "janvier", "enero"),
            ("february", "feb", "februar", "février", "fevrier", "febrero"),
            ("march", "mar", "märz", "maerz", "mars", "marzo"),
            ("april", "apr", "avril", "abril"),
            ("may", "mai", "mayo"),
            ("june", "jun", "juni", "juin", "junio"),
            ("july", "jul", "juli", "juillet", "julio"),
            ("august", "aug", "août", "aout", "agosto"),
            ("september", "sep", "sept", "septembre", "septiembre"),
            ("october", "oct", "oktober", "octobre", "octubre"),
            ("november", "nov", "novembre", "noviembre"),
            ("december", "dec", "dezember", "décembre", "decembre", "diciembre"),
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
    for _, value in sorted(candidates, key=lambda item: item[0]):
        if is_plausible(value, now):
            return value
    return None
