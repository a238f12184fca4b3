"""Server-side SVG charts for the reader: no script, no library, nothing loaded from elsewhere.

    volume_chart_svg(points, title="Articles mentioning Rafah") -> Markup   (an inline <svg role="img">)
    volume_buckets(points) -> VolumeBuckets                                 (the bars it draws, for tests and captions)
    hourly_chart_svg({"2024-03-26T14": 3, ...}, title=...) -> Markup        (per hour: a story of a day or two)

``points`` are day counts (anything with ``.day`` "YYYY-MM-DD" and ``.count``: the store's ``DayCount``). Days with
no point count zero, so the gaps show. A short span is drawn per day; a longer one per week, month or year, whichever
is the finest that keeps at most ``MAX_BARS`` bars. The SVG is built with ElementTree, so every label is escaped by the
serialiser (XML-forbidden control characters are removed first), and it is styled only through classes in reader.css:
the Content-Security-Policy allows no inline style, and dark mode comes for free from the page's colour variables.
"""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal, Protocol

from markupsafe import Markup

__all__ = [
    "MAX_BARS",
    "Bucket",
    "DayCountLike",
    "VolumeBuckets",
    "bucket_label",
    "hourly_buckets",
    "hourly_chart_svg",
    "volume_buckets",
    "volume_chart_svg",
    "volume_summary",
]

SVG_NS = "http://www.w3.org/2000/svg"
MAX_BARS = 120  # e.g. up to 120 days are drawn day by day; beyond that, weeks (up to 120 of them), then months...

Granularity = Literal["hour", "day", "week", "month", "year"]
_UNIT_WORDS: dict[str, str] = {"hour": "hour", "day": "day", "week": "week", "month": "month", "year": "year"}

# Drawing area, in viewBox units (the SVG scales to the width of its container).
_WIDTH, _HEIGHT = 640, 170
_LEFT, _RIGHT, _TOP, _BOTTOM = 44, 10, 16, 26
_MAX_BAR_WIDTH = 40.0
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class DayCountLike(Protocol):
    @property
    def day(self) -> str: ...

    @property
    def count(self) -> int: ...


@dataclass(slots=True, frozen=True)
class Bucket:
    start: date  # a datetime (the hour's start, UTC) when the granularity is "hour"
    count: int


@dataclass(slots=True, frozen=True)
class VolumeBuckets:
    granularity: Granularity
    buckets: list[Bucket]

    @property
    def total(self) -> int:
        return sum(bucket.count for bucket in self.buckets)

    @property
    def peak(self) -> Bucket | None:
        """The first bucket with the highest count (None when there are no buckets)."""
        return max(self.buckets, key=lambda bucket: bucket.count, default=None)


# -- bucketing ----------------------------------------------------------------------------------------------------
def _parse_day(value: object) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None  # a malformed day from a broken record is left out, never a crash


def _daily_counts(points: Iterable[DayCountLike]) -> dict[date, int]:
    counts: dict[date, int] = {}
    for point in points:
        day = _parse_day(point.day)
        if day is None:
            continue
        try:
            count = max(0, int(point.count))
        except (TypeError, ValueError):
            continue
        counts[day] = counts.get(day, 0) + count
    return counts


def _bucket_start(day: date, granularity: Granularity) -> date:
    if granularity == "week":
        return day - timedelta(days=day.weekday())  # weeks start on Monday (ISO 8601)
    if granularity == "month":
        return day.replace(day=1)
    if granularity == "year":
        return day.replace(month=1, day=1)
    return day


def _next_start(start: date, granularity: Granularity) -> date | None:
    """The start of the bucket after ``start``, or None past the last representable date."""
    try:
        if granularity == "day":
            return start + timedelta(days=1)
        if granularity == "week":
            return start + timedelta(days=7)
        if granularity == "month":
            if start.month == 12:
                return start.replace(year=start.year + 1, month=1)
            return start.replace(month=start.month + 1)
        return start.replace(year=start.year + 1)
    except (OverflowError, ValueError):
        return None


def _bucket_span(first: date, last: date, granularity: Granularity) -> int:
    """How many buckets of ``granularity`` the days from ``first`` to ``last`` fall into."""
    if granularity == "day":
        return (last - first).days + 1
    if granularity == "week":
        return (_bucket_start(last, "week") - _bucket_start(first, "week")).days // 7 + 1
    if granularity == "month":
        return (last.year - first.year) * 12 + last.month - first.month + 1
    return last.year - first.year + 1


def volume_buckets(points: Iterable[DayCountLike], max_bars: int = MAX_BARS) -> VolumeBuckets:
    """The counts per bucket from the first to the last day, gaps filled with zeros, at the finest granularity that
    gives at most ``max_bars`` buckets (years when even months are too many)."""
    counts = _daily_counts(points)
    if not counts:
        return VolumeBuckets("day", [])
    first, last = min(counts), max(counts)
    granularity: Granularity = "year"
    for candidate in ("day", "week", "month"):
        if _bucket_span(first, last, candidate) <= max_bars:  # type: ignore[arg-type]
            granularity = candidate  # type: ignore[assignment]
            break
    totals: dict[date, int] = {}
    for day, count in counts.items():
        start = _bucket_start(day, granularity)
        totals[start] = totals.get(start, 0) + count
    buckets: list[Bucket] = []
    start: date | None = _bucket_start(first, granularity)
    end = _bucket_start(last, granularity)
    while start is not None and start <= end:
        buckets.append(Bucket(start, totals.get(start, 0)))
        start = _next_start(start, granularity)
    return VolumeBuckets(granularity, buckets)


def hourly_buckets(hour_counts: Mapping[str, int], max_bars: int = MAX_BARS) -> VolumeBuckets:
    """Counts per hour ("YYYY-MM-DDTHH" keys, UTC) from the first to the last hour, gaps filled with zeros; when
    that is more than ``max_bars`` hours, the same counts per day instead (``volume_buckets``)."""
    counts: dict[datetime, int] = {}
    for key, value in hour_counts.items():
        try:
            hour = datetime.strptime(str(key)[:13], "%Y-%m-%dT%H")
            count = max(0, int(value))
        except (TypeError, ValueError):
            continue  # a malformed key from a broken record is left out, never a crash
        counts[hour] = counts.get(hour, 0) + count
    if not counts:
        return VolumeBuckets("hour", [])
    first, last = min(counts), max(counts)
    if (last - first) // timedelta(hours=1) + 1 > max_bars:
        per_day: dict[str, int] = {}
        for hour, count in counts.items():
            per_day[hour.date().isoformat()] = per_day.get(hour.date().isoformat(), 0) + count
        return volume_buckets([_DayPoint(day, count) for day, count in per_day.items()], max_bars=max_bars)
    buckets: list[Bucket] = []
    hour = first
    while hour <= last:
        buckets.append(Bucket(hour, counts.get(hour, 0)))
        hour += timedelta(hours=1)
    return VolumeBuckets("hour", buckets)


@dataclass(slots=True, frozen=True)
class _DayPoint:
    day: str
    count: int


# -- labels -------------------------------------------------------------------------------------------------------
def bucket_label(bucket_start: date, granularity: Granularity, short: bool = False) -> str:
    """'26 March 2024', 'week of 25 March 2024', 'March 2024' or '2024' (``short``: 'Mar 2024' for axes);
    per hour '26 March 2024, 14:00 UTC' ('26 Mar 14:00')."""
    month = f"{bucket_start:%b}" if short else f"{bucket_start:%B}"
    if granularity == "hour":
        hour = bucket_start.hour if isinstance(bucket_start, datetime) else 0
        if short:
            return f"{bucket_start.day} {month} {hour:02d}:00"
        return f"{bucket_start.day} {month} {bucket_start.year}, {hour:02d}:00 UTC"
    if granularity == "year":
        return str(bucket_start.year)
    if granularity == "month":
        return f"{month} {bucket_start.year}"
    day = f"{bucket_start.day} {month} {bucket_start.year}"
    return f"week of {day}" if granularity == "week" and not short else day


def _articles(count: int) -> str:
    return f"{count} article" if count == 1 else f"{count} articles"


def volume_summary(volume: VolumeBuckets) -> str:
    """One sentence saying what the chart shows (its accessible description and the visible caption)."""
    if not volume.buckets:
        return "No dated articles yet."
    unit = _UNIT_WORDS[volume.granularity]
    first, last = volume.buckets[0].start, volume.buckets[-1].start
    peak = volume.peak
    assert peak is not None
    if len(volume.buckets) == 1:
        where = "on" if volume.granularity == "day" else "at" if volume.granularity == "hour" else "in the" if volume.granularity == "week" else "in"
        return f"{_articles(volume.total)}, all {where} {bucket_label(first, volume.granularity)}."
    # Weeks are named by their Monday: "the week of" keeps the last one from reading as the last day.
    week = "the week of " if volume.granularity == "week" else ""
    span = (f"from {week}{bucket_label(first, volume.granularity, short=True)} to "
            f"{week}{bucket_label(last, volume.granularity, short=True)}, per {unit}")
    if peak.count <= 1:  # a "busiest" period among equals says nothing
        return f"{_articles(volume.total)} {span}."
    busiest = (f"busiest: the {bucket_label(peak.start, volume.granularity)}" if week
               else f"busiest {unit}: {bucket_label(peak.start, volume.granularity)}")
    busiest += f", {_articles(peak.count)}"
    return f"{_articles(volume.total)} {span}; {busiest}."


# -- drawing ------------------------------------------------------------------------------------------------------
def _clean(text: str) -> str:
    return _XML_FORBIDDEN.sub("", text)


def _element(parent: ET.Element | None, tag: str, text: str | None = None, **attributes: object) -> ET.Element:
    attrib = {key.rstrip("_").replace("_", "-"): _clean(str(value)) for key, value in attributes.items()}
    element = ET.Element(tag, attrib) if parent is None else ET.SubElement(parent, tag, attrib)
    if text is not None:
        element.text = _clean(text)
    return element


def _number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _chart_id(title: str, buckets: Sequence[Bucket]) -> str:
    # Stable (same page, same markup) and distinct for two charts on one page with different titles or data.
    digest = hashlib.sha1(title.encode("utf-8", "replace"))
    digest.update(",".join(f"{b.start}:{b.count}" for b in buckets).encode())
    return "chart-" + digest.hexdigest()[:10]


def _bar_layout(count: int) -> tuple[float, float, float]:
    """(left edge of the first slot, slot width, bar width): few bars are centred as a group at a readable width
    rather than spread into a sparse comb; many thin ones touch (a gap of under a unit would only blur)."""
    plot_width = _WIDTH - _LEFT - _RIGHT
    slot = min(plot_width / count, _MAX_BAR_WIDTH / 0.8)
    bar_width = slot * 0.8 if slot >= 2 else slot
    return _LEFT + (plot_width - slot * count) / 2, slot, bar_width


def _draw_axes(svg: ET.Element, volume: VolumeBuckets, peak_count: int) -> None:
    plot_right, baseline = _WIDTH - _RIGHT, _HEIGHT - _BOTTOM
    _element(svg, "line", class_="chart-grid", x1=_LEFT, y1=_TOP, x2=plot_right, y2=_TOP)
    _element(svg, "line", class_="chart-axis", x1=_LEFT, y1=baseline, x2=plot_right, y2=baseline)
    _element(svg, "text", str(peak_count), class_="chart-label chart-max", x=_LEFT - 6, y=_TOP + 4, text_anchor="end")
    _element(svg, "text", "0", class_="chart-label", x=_LEFT - 6, y=baseline + 4, text_anchor="end")
    first, last = volume.buckets[0].start, volume.buckets[-1].start
    left, slot, _ = _bar_layout(len(volume.buckets))
    label_y = baseline + 17
    if len(volume.buckets) == 1:
        _element(svg, "text", bucket_label(first, volume.granularity, short=True), class_="chart-label chart-first",
                 x=_number(left + slot / 2), y=label_y, text_anchor="middle")
        return
    _element(svg, "text", bucket_label(first, volume.granularity, short=True), class_="chart-label chart-first",
             x=_number(left), y=label_y, text_anchor="start")
    _element(svg, "text", bucket_label(last, volume.granularity, short=True), class_="chart-label chart-last",
             x=_number(left + slot * len(volume.buckets)), y=label_y, text_anchor="end")


def _draw_bars(svg: ET.Element, volume: VolumeBuckets, peak_count: int) -> None:
    plot_height = _HEIGHT - _TOP - _BOTTOM
    left, slot, bar_width = _bar_layout(len(volume.buckets))
    bars = _element(svg, "g", class_="chart-bars")
    for index, bucket in enumerate(volume.buckets):
        height = plot_height * bucket.count / peak_count if peak_count else 0.0
        bar = _element(
            bars, "rect", class_="chart-bar",
            x=_number(left + index * slot + (slot - bar_width) / 2), y=_number(_TOP + plot_height - height),
            width=_number(bar_width), height=_number(height),
        )
        _element(bar, "title", f"{bucket_label(bucket.start, volume.granularity)}: {_articles(bucket.count)}")


def volume_chart_svg(points: Iterable[DayCountLike], *, title: str, max_bars: int = MAX_BARS) -> Markup:
    """An accessible bar chart of ``points`` over time as inline SVG markup (safe to put in a page as it is).

    The chart is ``role="img"``, named by its ``<title>`` and described by a ``<desc>`` (the same sentence as
    ``volume_summary``); each bar has a ``<title>`` with its period and count. With no points it is an empty frame
    that says so.
    """
    return _chart_svg(volume_buckets(points, max_bars=max_bars), title)


def hourly_chart_svg(hour_counts: Mapping[str, int], *, title: str, max_bars: int = MAX_BARS) -> Markup:
    """Like ``volume_chart_svg``, per hour (keys "YYYY-MM-DDTHH", UTC): for a story that spans a day or two.
    More than ``max_bars`` hours are drawn per day instead."""
    return _chart_svg(hourly_buckets(hour_counts, max_bars=max_bars), title)


def _chart_svg(volume: VolumeBuckets, title: str) -> Markup:
    chart_id = _chart_id(title, volume.buckets)
    svg = _element(
        None, "svg", xmlns=SVG_NS, class_=f"volume-chart per-{volume.granularity}", role="img",
        viewBox=f"0 0 {_WIDTH} {_HEIGHT}", width=_WIDTH, height=_HEIGHT, preserveAspectRatio="xMidYMid meet",
        aria_labelledby=f"{chart_id}-title {chart_id}-desc", focusable="false",
    )
    _element(svg, "title", title, id=f"{chart_id}-title")
    _element(svg, "desc", volume_summary(volume), id=f"{chart_id}-desc")
    if not volume.buckets:
        baseline = _HEIGHT - _BOTTOM
        _element(svg, "line", class_="chart-axis", x1=_LEFT, y1=baseline, x2=_WIDTH - _RIGHT, y2=baseline)
        _element(svg, "text", "No dated articles yet", class_="chart-label chart-empty",
                 x=_number((_LEFT + _WIDTH - _RIGHT) / 2), y=_number(_HEIGHT / 2), text_anchor="middle")
        return Markup(ET.tostring(svg, encoding="unicode"))
    peak_count = max(bucket.count for bucket in volume.buckets)
    _draw_axes(svg, volume, peak_count)
    _draw_bars(svg, volume, peak_count)
    return Markup(ET.tostring(svg, encoding="unicode"))
