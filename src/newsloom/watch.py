"""Always on: a registry of sources (feeds, sitemaps, sites, OPML lists) and the loop that polls them.

    add_source(store, url_or_file, every, fetcher) -> AddResult    a feed/sitemap as is, a site discovered, OPML read
    poll_source(store, source, fetcher)             -> PollReport   one conditional poll: new articles in, health saved
    poll_due(store, fetcher)                        -> [PollReport] one cycle over the sources that are due
    watch(store, fetcher, stop_event)               -> WatchReport  cycles until ``stop_event`` is set
    export_opml(store) / parse_interval("15m") / format_interval(900) / backoff_seconds(every, errors)

A poll asks for the feed or sitemap with the ETag/Last-Modified saved last time; a 304 ends it. Otherwise the
entries are listed, the ones already handled are skipped, each new page is fetched through the Fetcher (robots.txt,
per-host delay, SSRF guard), extracted, given the feed's date only when the page has none (provenance "feed"; for a
news sitemap its ``news:publication_date``, never ``lastmod``), and run through ``pipeline.ingest_articles``.

"Already handled" is two things: articles the store holds (``Store.known_urls`` over the entry's canonical URL),
and a per-host memory of entry URLs this module fetched, kept as a store checkpoint. The memory is needed because
a page may declare a canonical URL on another host (syndicated copies do), so the store never sees the URL the feed
lists; and because a listed page that is not an article (an extraction failure, a 404) must not be fetched again
on every poll. A page that failed for a passing reason (timeout, 5xx) is not remembered, so the next poll retries it.

Validators are saved only after the new articles are committed, so a crash mid-poll makes the next poll list the
entries again instead of skipping them behind a 304. A poll that stops early (the cap on new articles per poll, or
shutdown) keeps the old validators for the same reason.

Health: a failed poll (fetch error, HTTP error status, unparseable feed) increments ``error_count`` (consecutive
failures) and pushes ``next_due`` out by ``backoff_seconds``; a good poll resets the count. ``last_error`` keeps the
last failure's message after a recovery, so ``sources list`` can show what went wrong last. A failing article page
is counted in the poll's report and never fails the source.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import (
    BlockedAddressError,
    FetchError,
    FetchTimeoutError,
    InputError,
    NewsloomError,
    NotFoundError,
    RobotsDisallowedError,
)
from .model import Article
from .sources.feeds import FeedEntry, FeedSubscription, apply_feed_date, parse_feed, parse_opml, render_opml
from .sources.sitemaps import parse_sitemap, walk_sitemaps
from .store.base import SourceRecord, Store, UpsertResult
from .urls import canonicalize_url

if TYPE_CHECKING:
    from .sources.fetch import Fetcher, FetchResult
    from .stages import Stage

__all__ = [
    "AddResult",
    "ArticleFailure",
    "PollReport",
    "WatchReport",
    "add_source",
    "poll_source",
    "poll_due",
    "watch",
    "export_opml",
    "parse_interval",
    "format_interval",
    "backoff_seconds",
    "DEFAULT_EVERY_SECONDS",
    "MAX_NEW_ARTICLES_PER_POLL",
]

DEFAULT_EVERY_SECONDS = 15 * 60
MIN_EVERY_SECONDS = 1
MAX_BACKOFF_SECONDS = 24 * 3600
# A new source (or a full-archive sitemap) can list thousands of pages; each poll takes this many, newest first,
# and leaves the rest for the next polls, so one source cannot hold the loop for hours.
MAX_NEW_ARTICLES_PER_POLL = 100
# The per-host memory of handled entry URLs: entries older than this, or beyond this count, are forgotten (feeds
# list recent items; an old entry coming back is fetched once more, and the store usually knows it anyway).
HANDLED_MEMORY_DAYS = 30
HANDLED_MEMORY_MAX = 20_000
_HANDLED_KEY = "watch:handled:"
FEED_ACCEPT = ("application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, "
               "text/xml;q=0.9, */*;q=0.5")

Log = Callable[[str], None]


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _no_log(message: str) -> None:
    pass


# ------------------------------------------------------------------------------------------------------ intervals

_INTERVAL_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(d|h|m|s)", re.IGNORECASE)
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_interval(text: str | int | float) -> int:
    """Seconds from "15m", "1h30m", "90s", "2d" or a plain number of seconds. InputError when unreadable."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        seconds = float(text)
    else:
        value = str(text).strip().lower().replace(" ", "")
        if re.fullmatch(r"\d+(\.\d+)?", value):
            seconds = float(value)
        elif value and _INTERVAL_PART.sub("", value) == "":
            seconds = sum(float(n) * _UNIT_SECONDS[u.lower()] for n, u in _INTERVAL_PART.findall(value))
        else:
            raise InputError(f"not an interval: {text!r} (use e.g. 90s, 15m, 1h30m, 2d)")
    if not seconds >= MIN_EVERY_SECONDS or seconds > 366 * 86400:
        raise InputError(f"interval {text!r} is out of range (1 second to 366 days)")
    return int(round(seconds))


def format_interval(seconds: float) -> str:
    """Compact form of an interval: 900 -> "15m", 5400 -> "1h30m"."""
    remaining = int(round(seconds))
    if remaining <= 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def backoff_seconds(every_seconds: int, error_count: int) -> int:
    """How long after the ``error_count``-th consecutive failure the source is tried again: the interval doubled
    per failure, capped at a day (or the interval itself, when that is longer)."""
    if error_count <= 0:
        return every_seconds
    cap = max(MAX_BACKOFF_SECONDS, every_seconds)
    return int(min(every_seconds * 2 ** min(error_count, 20), cap))


# ------------------------------------------------------------------------------------------------------ registry


@dataclass(slots=True)
class AddResult:
    added: list[SourceRecord] = field(default_factory=list)
    existing: list[SourceRecord] = field(default_factory=list)  # already registered: interval updated, state kept
    discovery_errors: list[tuple[str, str]] = field(default_factory=list)  # (URL, message), not fatal


def add_source(store: Store, url_or_file: str | Path, every: int | str = DEFAULT_EVERY_SECONDS,
               fetcher: Fetcher | None = None, *, kind: str = "auto") -> AddResult:
    """Register sources to poll.

    - An OPML file (a local path): each feed it lists, registered as is (nothing fetched now).
    - A URL with ``kind="feed"`` or ``"sitemap"``: registered as is, after the SSRF check of its host.
    - A URL with ``kind="auto"``: fetched once (through ``fetcher``); a feed or a sitemap is registered as such,
      an HTML page is taken as a site and its feeds and sitemaps are discovered and registered.
    Re-adding a known URL keeps its state and sets the new interval. InputError when nothing can be registered.
    """
    every_seconds = parse_interval(every)
    value = str(url_or_file).strip()
    path = Path(value)
    if "://" not in value and path.is_file():
        return _add_opml(store, path, every_seconds)
    canonical = canonicalize_url(value)
    if canonical is None or not value.lower().startswith(("http://", "https://")):
        raise InputError(f"not an http(s) URL nor an existing file: {value!r}")
    if kind in ("feed", "sitemap"):
        _check_allowed(value, fetcher)
        return _register(store, [SourceRecord(value, kind, None, every_seconds)])
    if kind not in ("auto", "site"):
        raise InputError(f"unknown source kind {kind!r} (feed, sitemap, site or auto)")
    if fetcher is None:
        raise InputError("adding a site or a URL of unknown kind needs a fetcher")
    if kind == "auto":
        detected = _detect(value, fetcher)
        if detected is not None:
            return _register(store, [SourceRecord(value, detected[0], detected[1] or None, every_seconds)])
    return _add_site(store, value, every_seconds, fetcher)


def _check_allowed(url: str, fetcher: Fetcher | None) -> None:
    """The SSRF guard's verdict on a URL registered without fetching it (with the fetcher's settings)."""
    from .sources.fetch import check_url_allowed

    options = fetcher.options if fetcher is not None else None
    try:
        check_url_allowed(url, allow_private_networks=bool(options and options.allow_private_networks),
                          allowed_networks=options.allowed_networks if options else ())
    except BlockedAddressError:
        raise
    except FetchError as exc:
        if "resolve" not in str(exc):
            raise
        # A name that does not resolve today may tomorrow; every poll checks the address again anyway.


def _detect(url: str, fetcher: Fetcher) -> tuple[str, str] | None:
    """("feed", title) or ("sitemap", "") for what ``url`` serves, or None for an HTML page (a site)."""
    result = fetcher.fetch(url, accept=FEED_ACCEPT, allowed_content_types=None)
    if not result.ok:
        raise FetchError(f"{url}: HTTP {result.status}", url=url)
    content = result.content
    if not _looks_like_html(content, result.content_type):
        try:
            return "feed", parse_feed(content, result.final_url).title
        except InputError:
            pass
        try:
            sitemap = parse_sitemap(content, result.final_url)
            if sitemap.urls or sitemap.sitemaps:
                return "sitemap", ""
        except InputError:
            pass
        raise InputError(f"{url} is neither a feed, a sitemap nor a web page ({result.content_type or 'no type'})")
    return None


def _looks_like_html(content: bytes, content_type: str) -> bool:
    head = content[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<?xml", b"<rss", b"<feed", b"<rdf", b"<urlset", b"<sitemapindex", b"{")):
        return False
    return content_type in ("text/html", "application/xhtml+xml") or head.startswith((b"<!doctype html", b"<html"))


def _add_site(store: Store, url: str, every_seconds: int, fetcher: Fetcher) -> AddResult:
    from .sources.discovery import discover_sources

    found = discover_sources(url, fetcher)
    records = [SourceRecord(feed.url, "feed", feed.title or None, every_seconds) for feed in found.feeds]
    records += [SourceRecord(sitemap, "sitemap", None, every_seconds) for sitemap in found.sitemaps]
    if not records:
        details = "; ".join(f"{u}: {m}" for u, m in found.errors[:3])
        raise InputError(f"no feed or sitemap found for {url}" + (f" ({details})" if details else ""))
    result = _register(store, records)
    result.discovery_errors = list(found.errors)
    return result


def _add_opml(store: Store, path: Path, every_seconds: int) -> AddResult:
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc
    subscriptions = parse_opml(content)
    if not subscriptions:
        raise InputError(f"{path} lists no feeds")
    return _register(store, [SourceRecord(s.url, "feed", s.title or None, every_seconds) for s in subscriptions])


def _register(store: Store, records: Sequence[SourceRecord]) -> AddResult:
    result = AddResult()
    for record in records:
        try:
            current = store.get_source(record.url)
        except NotFoundError:
            store.save_source(record)
            result.added.append(record)
            continue
        current.every_seconds = record.every_seconds
        current.title = current.title or record.title
        store.save_source(current)
        result.existing.append(current)
    return result


def export_opml(store: Store, title: str = "newsloom feeds") -> str:
    """The registered feeds as OPML 2.0 (sitemaps are not feeds and are left out)."""
    feeds = [FeedSubscription(s.url, s.title or "") for s in store.list_sources() if s.kind == "feed"]
    return render_opml(feeds, title)


# --------------------------------------------------------------------------------------------------------- polling


@dataclass(slots=True)
class ArticleFailure:
    url: str
    message: str
    retry: bool  # a passing failure (timeout, 5xx): the next poll tries the page again


@dataclass(slots=True)
class PollReport:
    url: str
    kind: str
    status: str = "ok"  # "ok", "not-modified", "error", "removed" (the source went away during the poll)
    error: str | None = None
    error_type: str | None = None  # the exception class name, e.g. "BlockedAddressError"
    listed: int = 0  # entries in the feed/sitemap
    new: int = 0  # entries neither stored nor handled before
    fetched: int = 0  # new pages fetched and extracted
    stored: UpsertResult = field(default_factory=UpsertResult)
    failures: list[ArticleFailure] = field(default_factory=list)
    deferred: int = 0  # new entries left for a later poll (the per-poll cap, or shutdown)
    discovered: int = 0  # sources registered by polling a "site"
    next_due: datetime | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "not-modified")

    def summary(self) -> str:
        """One log line."""
        if self.status == "error":
            return f"{self.url}: error: {self.error}"
        if self.status == "not-modified":
            return f"{self.url}: not modified"
        if self.status == "removed":
            return f"{self.url}: removed while polling"
        if self.kind == "site":
            return f"{self.url}: discovery registered {self.discovered} new sources"
        line = (f"{self.url}: {self.listed} listed, {self.new} new, {self.fetched} fetched, "
                f"{self.stored.inserted} stored, {len(self.failures)} failed")
        if self.deferred:
            line += f", {self.deferred} left for the next poll"
        return line + f" ({self.seconds:.1f}s)"


@dataclass(slots=True)
class _Candidate:
    url: str
    canonical: str
    entry: FeedEntry  # the listing's data: the fallback date and author


@dataclass(slots=True)
class _Listing:
    candidates: list[_Candidate]
    result: FetchResult | None  # None when nothing changed (304)
    title: str | None = None
    truncated: bool = False  # the feed broke off: entries past the break are unknown


def poll_source(
    store: Store,
    source: SourceRecord,
    fetcher: Fetcher,
    *,
    stop_event: threading.Event | None = None,
    stages: list[Stage] | None = None,
    max_new_articles: int = MAX_NEW_ARTICLES_PER_POLL,
    log: Log = _no_log,
    now: Callable[[], datetime] = _utcnow,
) -> PollReport:
    """Poll one source: conditional fetch, new pages in through the pipeline, health and validators saved.

    Errors of the source itself are recorded on it (and in the report), never raised; ``stages`` are handed to
    ``ingest_articles`` (None: the default stages).
    """
    started = time.monotonic()
    report = PollReport(source.url, source.kind)
    checked_at = now()
    try:
        if source.kind == "site":
            report.discovered = _rediscover(store, source, fetcher)
            _record_success(store, source, report, checked_at, None, None)
            return _finish(report, started)
        listing = _fetch_listing(source, fetcher)
    except NewsloomError as exc:
        _record_failure(store, source, report, checked_at, exc)
        return _finish(report, started)
    if listing.result is None:
        report.status = "not-modified"
        _record_success(store, source, report, checked_at, source.etag, source.last_modified)
        return _finish(report, started)
    report.listed = len(listing.candidates)
    complete = _ingest_new_entries(store, source, fetcher, listing.candidates, report, stop_event=stop_event,
                                   stages=stages, max_new=max_new_articles, log=log)
    # Validators only when every listed entry was dealt with: otherwise a 304 would hide the ones left over.
    complete = complete and not listing.truncated
    etag, last_modified = (listing.result.etag, listing.result.last_modified) if complete else (None, None)
    _record_success(store, source, report, checked_at, etag, last_modified, title=listing.title)
    return _finish(report, started)


def _finish(report: PollReport, started: float) -> PollReport:
    report.seconds = time.monotonic() - started
    return report


def _fetch_listing(source: SourceRecord, fetcher: Fetcher) -> _Listing:
    if source.kind not in ("feed", "sitemap"):
        raise InputError(f"{source.url}: unknown source kind {source.kind!r}")
    result = fetcher.fetch(source.url, etag=source.etag, last_modified=source.last_modified, accept=FEED_ACCEPT,
                           allowed_content_types=None)
    if result.not_modified:
        return _Listing([], None)
    if not result.ok:
        raise FetchError(f"{source.url}: HTTP {result.status}", url=source.url)
    if source.kind == "feed":
        feed = parse_feed(result.content, result.final_url)
        return _Listing(_unique([_candidate(entry) for entry in feed.entries]), result, feed.title or None,
                        truncated=feed.truncated)
    return _Listing(_sitemap_candidates(source.url, result, fetcher), result)


def _candidate(entry: FeedEntry) -> _Candidate:
    return _Candidate(entry.url, canonicalize_url(entry.url) or entry.url, entry)


def _unique(candidates: list[_Candidate]) -> list[_Candidate]:
    seen: set[str] = set()
    unique = []
    for candidate in candidates:
        if candidate.canonical not in seen:
            seen.add(candidate.canonical)
            unique.append(candidate)
    return unique


def _sitemap_candidates(url: str, result: FetchResult, fetcher: Fetcher) -> list[_Candidate]:
    """The pages of a sitemap and, for an index, of its children; newest first (news date, else lastmod)."""
    from .sources.discovery import fetch_bytes

    def get(sitemap_url: str) -> bytes:
        # The root is already here (fetched conditionally); children are fetched as the walk reaches them.
        return result.content if sitemap_url == url else fetch_bytes(fetcher, sitemap_url)

    walk = walk_sitemaps([url], get)
    if not walk.urls and walk.errors:
        failed_url, message = walk.errors[0]
        raise InputError(message if failed_url in message else f"{failed_url}: {message}")
    oldest = datetime.min.replace(tzinfo=timezone.utc)
    ordered = sorted(walk.urls, key=lambda u: u.news_published_at or u.lastmod or oldest, reverse=True)
    # lastmod says when a page changed, not when it was published: only news:publication_date is a date here.
    return _unique([_candidate(FeedEntry(u.url, u.news_title or "", "", u.news_published_at)) for u in ordered])


def _ingest_new_entries(
    store: Store,
    source: SourceRecord,
    fetcher: Fetcher,
    candidates: list[_Candidate],
    report: PollReport,
    *,
    stop_event: threading.Event | None,
    stages: list[Stage] | None,
    max_new: int,
    log: Log,
) -> bool:
    """Fetch, extract and ingest the entries not handled before; True when none was left for later."""
    from .pipeline import ingest_articles

    memory = _HandledMemory.load(store, candidates)
    lookup = sorted({c.canonical for c in candidates} | {c.url for c in candidates})
    known = store.known_urls(lookup) if lookup else set()
    new = [c for c in candidates
           if c.canonical not in known and c.url not in known and not memory.has(c.canonical)]
    report.new = len(new)
    articles: list[Article] = []
    complete = True
    for index, candidate in enumerate(new):
        if index >= max_new or (stop_event is not None and stop_event.is_set()):
            report.deferred = len(new) - index
            complete = False
            break
        article = _fetch_article(candidate, source, fetcher, report, log)
        if article is not None:
            articles.append(article)
        elif report.failures[-1].retry:
            complete = False  # keep the listing unconditional until this page has been fetched
            continue
        memory.add(candidate.canonical)
    if articles:
        report.stored = ingest_articles(articles, store, stages)
    memory.save(store)
    return complete


def _fetch_article(candidate: _Candidate, source: SourceRecord, fetcher: Fetcher, report: PollReport,
                   log: Log) -> Article | None:
    """The extracted article of one entry, or None with the failure added to the report."""
    from .extract import extract

    def fail(message: str, retry: bool) -> None:
        report.failures.append(ArticleFailure(candidate.url, message, retry))
        log(f"  {candidate.url}: {message}" + (" (will retry)" if retry else ""))

    try:
        result = fetcher.fetch(candidate.url)
    except (RobotsDisallowedError, BlockedAddressError) as exc:
        fail(str(exc), retry=False)
        return None
    except FetchError as exc:
        fail(str(exc), retry=_is_passing(exc))
        return None
    if not result.ok:
        fail(f"HTTP {result.status}", retry=result.status >= 500 or result.status in (408, 429))
        return None
    try:
        article = extract(result.to_raw_document(source=source.url))
    except NewsloomError as exc:
        fail(str(exc), retry=False)
        return None
    except (ValueError, RecursionError, MemoryError) as exc:  # a hostile page must not stop the poll
        fail(f"extraction failed: {type(exc).__name__}: {exc}", retry=False)
        return None
    report.fetched += 1
    return apply_feed_date(article, candidate.entry)


def _is_passing(exc: FetchError) -> bool:
    """Whether a failed page fetch is worth retrying: timeouts and network trouble are; a page too large, of a
    type that is not a page (the Fetcher says "unexpected content type"), or with too many redirects is not."""
    if isinstance(exc, FetchTimeoutError):
        return True
    if type(exc) is not FetchError:
        return False  # ResponseTooLargeError and other specific refusals
    message = str(exc)
    return "content type" not in message and "redirects" not in message


def _rediscover(store: Store, source: SourceRecord, fetcher: Fetcher) -> int:
    """A "site" source: discover its feeds and sitemaps again and register the new ones (due now)."""
    before = {s.url for s in store.list_sources()}
    result = _add_site(store, source.url, source.every_seconds, fetcher)
    return len([r for r in result.added if r.url not in before])


# ----------------------------------------------------------------------------------------------- source health


def _record_success(store: Store, source: SourceRecord, report: PollReport, checked_at: datetime,
                    etag: str | None, last_modified: str | None, *, title: str | None = None) -> None:
    def update(current: SourceRecord) -> SourceRecord:
        return replace(
            current,
            title=current.title or title,
            etag=etag,
            last_modified=last_modified,
            last_checked=checked_at,
            last_success=checked_at,
            error_count=0,
            next_due=checked_at + timedelta(seconds=current.every_seconds),
            articles=current.articles + report.stored.inserted,
        )

    _update_source(store, source, report, update)


def _record_failure(store: Store, source: SourceRecord, report: PollReport, checked_at: datetime,
                    exc: Exception) -> None:
    report.status = "error"
    report.error = str(exc)
    report.error_type = type(exc).__name__

    def update(current: SourceRecord) -> SourceRecord:
        errors = current.error_count + 1
        return replace(
            current,
            last_checked=checked_at,
            last_error=str(exc)[:1000],
            error_count=errors,
            next_due=checked_at + timedelta(seconds=backoff_seconds(current.every_seconds, errors)),
        )

    _update_source(store, source, report, update)


def _update_source(store: Store, source: SourceRecord, report: PollReport,
                   update: Callable[[SourceRecord], SourceRecord]) -> None:
    """Apply ``update`` to the stored record, read again: the interval may have changed meanwhile (``sources
    add`` from another process), and a source removed during the poll must stay removed."""
    try:
        current = store.get_source(source.url)
    except NotFoundError:
        report.status = "removed" if report.status != "error" else report.status
        return
    saved = update(current)
    store.save_source(saved)
    report.next_due = saved.next_due


class _HandledMemory:
    """Entry URLs fetched before, per host, with when they were first handled (a store checkpoint per host)."""

    def __init__(self, by_host: dict[str, dict[str, float]]) -> None:
        self._by_host = by_host
        self._changed: set[str] = set()
        self._now = time.time()

    @classmethod
    def load(cls, store: Store, candidates: Sequence[_Candidate]) -> _HandledMemory:
        by_host: dict[str, dict[str, float]] = {}
        for host in {_host(c.canonical) for c in candidates}:
            raw = store.get_checkpoint(_HANDLED_KEY + host)
            try:
                loaded = json.loads(raw) if raw else {}
            except ValueError:
                loaded = {}  # a damaged memory only costs refetches
            by_host[host] = {k: float(v) for k, v in loaded.items() if isinstance(v, (int, float))} \
                if isinstance(loaded, dict) else {}
        return cls(by_host)

    def has(self, canonical: str) -> bool:
        return canonical in self._by_host.get(_host(canonical), {})

    def add(self, canonical: str) -> None:
        host = _host(canonical)
        self._by_host.setdefault(host, {}).setdefault(canonical, self._now)
        self._changed.add(host)

    def save(self, store: Store) -> None:
        horizon = self._now - HANDLED_MEMORY_DAYS * 86400
        for host in self._changed:
            kept = {url: when for url, when in self._by_host[host].items() if when >= horizon}
            if len(kept) > HANDLED_MEMORY_MAX:
                kept = dict(sorted(kept.items(), key=lambda item: item[1])[-HANDLED_MEMORY_MAX:])
            # An empty upsert with a checkpoint writes the checkpoint alone, in its own transaction.
            store.upsert_articles([], checkpoint=(_HANDLED_KEY + host, json.dumps(kept, separators=(",", ":"))))


def _host(url: str) -> str:
    """The memory's key: host and port (two servers on one address are two sites)."""
    from urllib.parse import urlsplit

    return urlsplit(url).netloc.lower()


# ------------------------------------------------------------------------------------------------------ the loop


@dataclass(slots=True)
class WatchReport:
    cycles: int = 0
    polls: int = 0
    failed_polls: int = 0
    stored: UpsertResult = field(default_factory=UpsertResult)
    article_failures: int = 0
    webhooks_delivered: int = 0
    webhooks_failed: int = 0


def due_sources(store: Store, at: datetime | None = None) -> list[SourceRecord]:
    """The sources whose ``next_due`` has come (never-polled ones first, then the most overdue)."""
    moment = at or _utcnow()
    due = [s for s in store.list_sources() if s.next_due is None or s.next_due <= moment]
    return sorted(due, key=lambda s: (s.next_due is not None, s.next_due or moment))


def poll_due(store: Store, fetcher: Fetcher, *, stop_event: threading.Event | None = None,
             stages: list[Stage] | None = None, log: Log = _no_log,
             max_new_articles: int = MAX_NEW_ARTICLES_PER_POLL) -> list[PollReport]:
    """One cycle: poll every source that is due, in turn, until done or ``stop_event`` is set."""
    reports = []
    for source in due_sources(store):
        if stop_event is not None and stop_event.is_set():
            break
        log(f"polling {source.url}")
        try:
            report = poll_source(store, source, fetcher, stop_event=stop_event, stages=stages, log=log,
                                 max_new_articles=max_new_articles)
        except Exception as exc:  # noqa: BLE001 - a bug or a store failure must not end an always-on loop
            report = _unexpected_failure(store, source, exc)
        log(report.summary())
        reports.append(report)
    return reports


def _unexpected_failure(store: Store, source: SourceRecord, exc: Exception) -> PollReport:
    """Record an exception poll_source did not expect on the source (so it backs off), if the store still works."""
    report = PollReport(source.url, source.kind)
    try:
        _record_failure(store, source, report, _utcnow(), exc)
    except Exception:  # noqa: BLE001 - the store itself is failing; the report still says what happened
        report.status, report.error, report.error_type = "error", str(exc), type(exc).__name__
    report.error = f"{type(exc).__name__}: {exc}"
    return report


def watch(
    store: Store,
    fetcher: Fetcher,
    stop_event: threading.Event,
    *,
    once: bool = False,
    stages: list[Stage] | None = None,
    log: Log = _no_log,
    max_idle_seconds: float = 60.0,
    max_new_articles: int = MAX_NEW_ARTICLES_PER_POLL,
    deliver: Callable[[Store], object] | None = None,
) -> WatchReport:
    """Poll due sources on their schedules until ``stop_event`` is set (or after one cycle with ``once``).

    After each cycle, webhook subscriptions get what matched (``deliver``: a delivery round, by default
    ``subscriptions.deliver_pending``); a failing receiver is retried by its own backoff, never by stopping the loop.

    Between cycles it sleeps until the next source is due, at most ``max_idle_seconds`` so that sources added
    meanwhile by another process are picked up; setting ``stop_event`` ends the sleep at once and ends a poll
    after the page being fetched.
    """
    total = WatchReport()
    if stages is None:
        from .stages import default_stages

        stages = default_stages()  # one set per run, so stages that learn across batches keep what they learnt
    while not stop_event.is_set():
        reports = poll_due(store, fetcher, stop_event=stop_event, stages=stages, log=log,
                           max_new_articles=max_new_articles)
        total.cycles += 1
        for report in reports:
            total.polls += 1
            total.failed_polls += not report.ok
            total.stored += report.stored
            total.article_failures += len(report.failures)
        _deliver_subscriptions(store, total, log, deliver)
        if once or stop_event.is_set():
            break
        wait = _seconds_until_next_due(store, max_idle_seconds)
        if reports or total.cycles == 1:
            log(_waiting_line(store, wait))
        stop_event.wait(wait)
    return total


def _deliver_subscriptions(store: Store, total: WatchReport, log: Log, deliver: Callable[[Store], object] | None) -> None:
    from .subscriptions import deliver_pending

    try:
        report = (deliver or deliver_pending)(store)
    except NewsloomError as exc:
        log(f"webhook delivery round failed: {exc}")
        return
    delivered, failed = getattr(report, "delivered", 0), getattr(report, "failed", 0) + getattr(report, "dead", 0)
    total.webhooks_delivered += delivered
    total.webhooks_failed += failed
    if delivered or failed:
        log(f"webhooks: {delivered} delivered, {failed} failed")


def _seconds_until_next_due(store: Store, max_idle_seconds: float) -> float:
    sources = store.list_sources()
    if not sources:
        return max_idle_seconds
    now = _utcnow()
    soonest = min((s.next_due or now) for s in sources)
    return min(max_idle_seconds, max(0.2, (soonest - now).total_seconds()))


def _waiting_line(store: Store, wait: float) -> str:
    count = len(store.list_sources())
    if not count:
        return "no sources yet: add one with `newsloom sources add URL`"
    return f"{count} sources; next check in {format_interval(max(1, wait))}"
