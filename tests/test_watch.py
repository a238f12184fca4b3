"""Always on: the sources registry and `newsloom watch` against a real local news site on 127.0.0.1.

The site (tests/sources_http.py) serves a home page announcing an RSS feed, a robots.txt naming a Google News
sitemap, and real article pages from the Scrapinghub benchmark (tests/fixtures/html/scrapinghub/, MIT). The feed
answers conditional GETs by ETag, the sitemap by Last-Modified, so a second poll can be checked for 304s.

The Done-when check of issue 7 runs the real CLI as subprocesses on a temporary SQLite file; the finer behaviours
(backoff, retries of failed pages, the per-poll cap, feed dates as a fallback) are checked in-process.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from email.utils import format_datetime
from pathlib import Path

import pytest

pytest.importorskip("httpx")
pytest.importorskip("protego")
pytest.importorskip("feedparser")

from newsloom.errors import BlockedAddressError, InputError  # noqa: E402
from newsloom.sources.feeds import parse_opml  # noqa: E402
from newsloom.sources.fetch import Fetcher, FetchOptions  # noqa: E402
from newsloom.store import SQLiteStore  # noqa: E402
from newsloom.store.base import SourceRecord  # noqa: E402
from newsloom.watch import (  # noqa: E402
    add_source,
    backoff_seconds,
    export_opml,
    format_interval,
    parse_interval,
    poll_due,
    poll_source,
    watch,
)

from .sources_http import LocalServer, Route, local_server  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
PAGES_DIR = REPO / "tests" / "fixtures" / "html" / "scrapinghub"
NEWSLOOM = [sys.executable, "-m", "newsloom"]
HTML = {"Content-Type": "text/html; charset=utf-8"}
FAST = {"per_host_delay": 0.0, "backoff_base": 0.01, "max_retries": 1}
# A date no real page below carries: an article stored with it got it from the feed.
FEED_DATE = datetime(2001, 2, 3, 4, 5, 6, tzinfo=timezone.utc)
FEED_PAGES = ["06e5123e", "0ec95c72", "7916ecca", "92101975"]  # foreign canonical links, and none
SITEMAP_PAGES = ["7916ecca", "92101975", "c00962aa", "d90bda7e"]  # two shared with the feed


def real_page(prefix: str) -> bytes:
    (path,) = PAGES_DIR.glob(prefix + "*.html.gz")
    return gzip.decompress(path.read_bytes())


def page_path(page: str) -> str:
    """A page's path on the site: fixture prefixes live under /news/; a path given as such is kept."""
    return page if page.startswith("/") else f"/news/{page}.html"


def rss(server: LocalServer, pages: list[str], date: datetime = FEED_DATE) -> bytes:
    items = "".join(
        f"<item><title>Story {p}</title><link>{server.url(page_path(p))}</link>"
        f"<guid>{server.url(page_path(p))}</guid><pubDate>{format_datetime(date)}</pubDate></item>"
        for p in pages
    )
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Local Wire</title>'
            f"<link>{server.url('/')}</link><description>test</description>{items}</channel></rss>").encode()


def news_sitemap(server: LocalServer, pages: list[str]) -> bytes:
    urls = "".join(
        f"<url><loc>{server.url(page_path(p))}</loc><lastmod>2024-05-05</lastmod><news:news>"
        f"<news:publication><news:name>Local Wire</news:name><news:language>en</news:language></news:publication>"
        f"<news:publication_date>{FEED_DATE.isoformat()}</news:publication_date><news:title>Story {p}</news:title>"
        f"</news:news></url>"
        for p in pages
    )
    return ('<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
            f'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">{urls}</urlset>').encode()


def etag_route(body: bytes, etag: str, content_type: str) -> Route:
    """A route that answers If-None-Match with 304 when the ETag matches."""

    def answer(headers: dict[str, str]) -> Route:
        if headers.get("if-none-match") == etag:
            return Route(304, b"", {"ETag": etag})
        return Route(200, body, {"Content-Type": content_type, "ETag": etag})

    return Route(dynamic=answer)


def last_modified_route(body: bytes, stamp: str, content_type: str) -> Route:
    """A route that answers If-Modified-Since with 304 when it names the same time."""

    def answer(headers: dict[str, str]) -> Route:
        if headers.get("if-modified-since") == stamp:
            return Route(304, b"", {"Last-Modified": stamp})
        return Route(200, body, {"Content-Type": content_type, "Last-Modified": stamp})

    return Route(dynamic=answer)


def build_site(server: LocalServer) -> None:
    home = (b'<html><head><title>Local Wire</title><link rel="alternate" type="application/rss+xml" '
            b'title="Local Wire" href="/feed.xml"></head><body><p>Home</p></body></html>')
    server.routes["/"] = Route(200, home, HTML)
    server.routes["/robots.txt"] = Route(
        200, f"User-agent: *\nDisallow: /private/\nSitemap: {server.url('/news-sitemap.xml')}\n".encode(),
        {"Content-Type": "text/plain"})
    server.routes["/feed.xml"] = etag_route(rss(server, FEED_PAGES), '"feed-v1"', "application/rss+xml")
    server.routes["/news-sitemap.xml"] = last_modified_route(
        news_sitemap(server, SITEMAP_PAGES), "Mon, 06 May 2024 10:00:00 GMT", "application/xml")
    for prefix in set(FEED_PAGES + SITEMAP_PAGES):
        server.routes[f"/news/{prefix}.html"] = Route(200, real_page(prefix), HTML)


def page_requests(server: LocalServer) -> list[str]:
    return [path for path in server.paths_seen() if path.startswith("/news/")]


@pytest.fixture
def site() -> Iterator[LocalServer]:
    with local_server() as server:
        build_site(server)
        yield server


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with Fetcher(FetchOptions(allow_private_networks=True), **FAST) as client:
        yield client


def run_cli(db: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*NEWSLOOM, "--db", str(db), *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


# ------------------------------------------------------------------------------------------------ Done when (CLI)


def test_watch_once_ingests_feed_and_sitemap_articles_once_then_polls_conditionally(site, tmp_path):
    db = tmp_path / "news.db"
    added = run_cli(db, "sources", "add", site.url("/"), "--every", "1s", "--allow-private-networks", "--delay", "0")
    assert added.returncode == 0, added.stderr
    assert f"added feed {site.url('/feed.xml')}" in added.stdout
    assert f"added sitemap {site.url('/news-sitemap.xml')}" in added.stdout

    first = run_cli(db, "watch", "--once", "--allow-private-networks", "--delay", "0")
    assert first.returncode == 0, first.stderr
    unique_pages = sorted(set(FEED_PAGES + SITEMAP_PAGES))
    # Every page fetched once, although the feed and the sitemap both list two of them.
    assert sorted(page_requests(site)) == [f"/news/{p}.html" for p in unique_pages]
    with SQLiteStore(db) as store:
        stats = store.stats()
        assert stats.articles == len(unique_pages)
        feed_source = store.get_source(site.url("/feed.xml"))
        sitemap_source = store.get_source(site.url("/news-sitemap.xml"))
        articles = store.latest_articles(limit=50)
    assert feed_source.articles + sitemap_source.articles == len(unique_pages)
    assert feed_source.etag == '"feed-v1"' and feed_source.title == "Local Wire"
    assert sitemap_source.last_modified == "Mon, 06 May 2024 10:00:00 GMT"
    assert feed_source.error_count == 0 and feed_source.last_success is not None
    # The pages carry their own dates; the feed's date (a fallback only) must not replace them.
    assert all(a.published_at is not None and a.published_at_source != "feed" for a in articles)
    assert {a.source for a in articles} == {site.url("/feed.xml"), site.url("/news-sitemap.xml")}
    assert f"{len(unique_pages)} new articles" in first.stdout

    time.sleep(1.1)  # both sources are due again (every 1s)
    seen_before = len(site.seen)
    second = run_cli(db, "watch", "--once", "--allow-private-networks", "--delay", "0")
    assert second.returncode == 0, second.stderr
    assert "0 new articles" in second.stdout
    again = site.seen[seen_before:]
    assert not [s for s in again if s.path.startswith("/news/")]
    feed_request = next(s for s in again if s.path == "/feed.xml")
    sitemap_request = next(s for s in again if s.path == "/news-sitemap.xml")
    assert feed_request.headers.get("if-none-match") == '"feed-v1"'
    assert sitemap_request.headers.get("if-modified-since") == "Mon, 06 May 2024 10:00:00 GMT"
    assert "not modified" in second.stderr
    with SQLiteStore(db) as store:
        assert store.stats().articles == len(unique_pages)


def test_private_addresses_are_refused_without_the_opt_in(site, tmp_path):
    db = tmp_path / "news.db"
    refused = run_cli(db, "sources", "add", site.url("/feed.xml"))
    assert refused.returncode == 2
    assert "refusing to fetch 127.0.0.1: loopback address" in refused.stderr
    assert "--allow-private-networks" in refused.stderr
    assert site.seen == []  # nothing was sent
    with SQLiteStore(db) as store:
        assert store.list_sources() == []

    # Registered with the opt-in, polled without it: the poll is refused and recorded on the source.
    added = run_cli(db, "sources", "add", site.url("/feed.xml"), "--kind", "feed", "--allow-private-networks")
    assert added.returncode == 0, added.stderr
    assert site.seen == []  # --kind feed registers without fetching
    polled = run_cli(db, "watch", "--once", env={"NEWSLOOM_ALLOW_PRIVATE_NETWORKS": ""})
    assert polled.returncode == 0, polled.stderr
    assert "refusing to fetch 127.0.0.1: loopback address" in polled.stderr
    assert site.seen == []
    listed = run_cli(db, "sources", "list")
    assert "1 errors" in listed.stdout and "last error:   refusing to fetch" in listed.stdout

    # The environment variable is the same opt-in as the flag.
    allowed = run_cli(db, "sources", "add", site.url("/feed.xml"), env={"NEWSLOOM_ALLOW_PRIVATE_NETWORKS": "1"})
    assert allowed.returncode == 0, allowed.stderr
    assert "already registered: feed" in allowed.stdout


def test_opml_import_and_export_round_trip(tmp_path):
    opml = tmp_path / "feeds.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><head><title>mine</title></head><body>'
        '<outline text="World"><outline type="rss" text="Wire A" xmlUrl="https://a.example.org/rss.xml" '
        'htmlUrl="https://a.example.org/"/><outline type="rss" text="Wire B" xmlUrl="https://b.example.org/atom"/>'
        '</outline><outline type="rss" title="Wire C" text="C" xmlUrl="https://c.example.org/feed.json"/>'
        "</body></opml>", encoding="utf-8")
    db = tmp_path / "news.db"
    added = run_cli(db, "sources", "add", str(opml), "--every", "1h")
    assert added.returncode == 0, added.stderr
    assert added.stdout.count("added feed") == 3
    listed = run_cli(db, "sources", "list", "--format", "jsonl")
    records = [json.loads(line) for line in listed.stdout.splitlines()]
    assert {r["url"] for r in records} == {"https://a.example.org/rss.xml", "https://b.example.org/atom",
                                           "https://c.example.org/feed.json"}
    assert {r["every_seconds"] for r in records} == {3600}
    exported = run_cli(db, "sources", "export")
    assert exported.returncode == 0, exported.stderr
    again = parse_opml(exported.stdout)
    assert {(s.url, s.title) for s in again} == {("https://a.example.org/rss.xml", "Wire A"),
                                                ("https://b.example.org/atom", "Wire B"),
                                                ("https://c.example.org/feed.json", "Wire C")}
    removed = run_cli(db, "sources", "remove", "https://b.example.org/atom")
    assert removed.returncode == 0
    missing = run_cli(db, "sources", "remove", "https://b.example.org/atom")
    assert missing.returncode == 3 and "no source" in missing.stderr
    assert len(parse_opml(run_cli(db, "sources", "export").stdout)) == 2


def test_sigterm_stops_a_running_watch_cleanly(site, tmp_path):
    db = tmp_path / "news.db"
    assert run_cli(db, "sources", "add", site.url("/feed.xml"), "--every", "1h", "--allow-private-networks",
                   "--delay", "0").returncode == 0
    log_path = tmp_path / "watch.log"
    with log_path.open("w") as log:
        process = subprocess.Popen([*NEWSLOOM, "--db", str(db), "watch", "--delay", "0", "--no-entities"],
                                   stdout=subprocess.PIPE,
                                   stderr=log, text=True, env={**os.environ, "NEWSLOOM_ALLOW_PRIVATE_NETWORKS": "1"})
    try:
        deadline = time.monotonic() + 30
        while "next check in" not in log_path.read_text() and time.monotonic() < deadline:
            assert process.poll() is None, log_path.read_text()
            time.sleep(0.1)
        assert "next check in" in log_path.read_text()  # the first cycle is done; it now waits for an hour
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        stdout, _ = process.communicate(timeout=10)
        assert time.monotonic() - started < 5
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, log_path.read_text()
    assert "SIGTERM: stopping" in log_path.read_text()
    assert "1 cycles, 1 polls (0 failed): 4 new articles" in stdout


# ------------------------------------------------------------------------------------------- library behaviour


def test_a_failing_feed_backs_off_while_the_others_go_on(site, fetcher, sqlite_store):
    site.routes["/gone.xml"] = Route(404, b"not here", HTML)
    # A feed URL that now answers with a web page (a login wall, a redesign) is a failure, not an empty feed.
    site.routes["/broken.xml"] = Route(200, real_page("0ec95c72"), HTML)
    for path in ("/feed.xml", "/gone.xml", "/broken.xml"):
        add_source(sqlite_store, site.url(path), "10m", fetcher, kind="feed")
    reports = {r.url: r for r in poll_due(sqlite_store, fetcher, stages=[])}
    good, gone, broken = (sqlite_store.get_source(site.url(p)) for p in ("/feed.xml", "/gone.xml", "/broken.xml"))
    assert reports[good.url].ok and reports[good.url].stored.inserted == len(FEED_PAGES)
    assert good.error_count == 0 and good.last_error is None
    for failed in (gone, broken):
        assert not reports[failed.url].ok
        assert failed.error_count == 1 and failed.last_error
        assert failed.next_due > good.next_due  # backed off beyond the normal interval
    assert "HTTP 404" in gone.last_error
    # Nothing is due now; forcing another failing poll doubles the wait again.
    assert poll_due(sqlite_store, fetcher, stages=[]) == []
    poll_source(sqlite_store, gone, fetcher, stages=[])
    gone_again = sqlite_store.get_source(gone.url)
    assert gone_again.error_count == 2
    assert gone_again.next_due - gone_again.last_checked > gone.next_due - gone.last_checked
    # A recovery resets the count; the last error stays visible.
    site.routes["/gone.xml"] = Route(200, rss(site, []), {"Content-Type": "application/rss+xml"})
    poll_source(sqlite_store, gone_again, fetcher, stages=[])
    recovered = sqlite_store.get_source(gone.url)
    assert recovered.error_count == 0 and "HTTP 404" in recovered.last_error


def test_failed_pages_are_counted_not_fatal_and_retried_only_when_passing(site, fetcher, sqlite_store):
    entries = ["06e5123e", "missing", "flaky", "/private/memo.html"]  # robots.txt disallows /private/
    site.routes["/private/memo.html"] = Route(200, real_page("c00962aa"), HTML)
    site.routes["/feed.xml"] = etag_route(rss(site, entries), '"v1"', "application/rss+xml")
    site.routes["/news/flaky.html"] = Route(503, b"busy", HTML)
    add_source(sqlite_store, site.url("/feed.xml"), "1m", fetcher, kind="feed")
    first = poll_source(sqlite_store, sqlite_store.get_source(site.url("/feed.xml")), fetcher, stages=[])
    assert first.ok and first.fetched == 1 and first.stored.inserted == 1
    failures = {(f.url.rsplit("/", 1)[1], f.retry) for f in first.failures}
    assert failures == {("missing.html", False), ("flaky.html", True), ("memo.html", False)}
    assert "/private/memo.html" not in site.paths_seen()
    source = sqlite_store.get_source(site.url("/feed.xml"))
    assert source.error_count == 0 and source.etag is None  # kept unconditional until the flaky page is in
    site.routes["/news/flaky.html"] = Route(200, real_page("c00962aa"), HTML)
    seen_before = len(site.seen)
    second = poll_source(sqlite_store, source, fetcher, stages=[])
    assert second.stored.inserted == 1 and not second.failures
    assert page_requests(site)[-1:] == ["/news/flaky.html"]
    assert "/news/missing.html" not in [s.path for s in site.seen[seen_before:]]  # a 404 is not asked again
    assert "/private/memo.html" not in site.paths_seen()
    assert sqlite_store.get_source(source.url).etag == '"v1"'


def test_new_entries_only_and_the_per_poll_cap(site, fetcher, sqlite_store):
    pages = ["06e5123e", "0ec95c72", "7916ecca"]
    add_source(sqlite_store, site.url("/feed.xml"), "1m", fetcher, kind="feed")
    site.routes["/feed.xml"] = etag_route(rss(site, pages), '"v1"', "application/rss+xml")
    capped = poll_source(sqlite_store, sqlite_store.get_source(site.url("/feed.xml")), fetcher, stages=[],
                         max_new_articles=2)
    assert capped.fetched == 2 and capped.deferred == 1
    assert sqlite_store.get_source(site.url("/feed.xml")).etag is None
    rest = poll_source(sqlite_store, sqlite_store.get_source(site.url("/feed.xml")), fetcher, stages=[],
                       max_new_articles=2)
    assert rest.new == 1 and rest.fetched == 1 and rest.deferred == 0
    # The feed changes: only the added entry is fetched, although two of the pages declare canonical URLs on
    # other hosts (the store holds those, not the feed's URLs).
    site.routes["/feed.xml"] = etag_route(rss(site, ["92101975", *pages]), '"v2"', "application/rss+xml")
    seen_before = len(site.seen)
    changed = poll_source(sqlite_store, sqlite_store.get_source(site.url("/feed.xml")), fetcher, stages=[])
    assert changed.listed == 4 and changed.new == 1
    assert [s.path for s in site.seen[seen_before:] if s.path.startswith("/news/")] == ["/news/92101975.html"]
    assert sqlite_store.get_source(site.url("/feed.xml")).articles == 4


def test_a_feed_cut_off_mid_transfer_is_read_but_not_marked_complete(site, fetcher, sqlite_store):
    pages = ["06e5123e", "0ec95c72", "7916ecca"]
    whole = rss(site, pages)
    cut = whole[: whole.rindex(b"<item>") + 20]  # the connection broke inside the last item
    add_source(sqlite_store, site.url("/feed.xml"), "1m", fetcher, kind="feed")
    site.routes["/feed.xml"] = etag_route(cut, '"v1"', "application/rss+xml")
    partial = poll_source(sqlite_store, sqlite_store.get_source(site.url("/feed.xml")), fetcher, stages=[])
    assert partial.new == 2 and partial.error is None
    # No validators saved: the next poll asks unconditionally and gets the items past the break.
    assert sqlite_store.get_source(site.url("/feed.xml")).etag is None
    site.routes["/feed.xml"] = etag_route(whole, '"v1"', "application/rss+xml")
    rest = poll_source(sqlite_store, sqlite_store.get_source(site.url("/feed.xml")), fetcher, stages=[])
    assert rest.new == 1 and sqlite_store.get_source(site.url("/feed.xml")).etag == '"v1"'


def test_feed_date_fills_only_a_missing_date(site, fetcher, sqlite_store):
    undated = ("<html><head><title>Harbour strike ends</title></head><body><article><h1>Harbour strike ends</h1>"
               + "".join(f"<p>Dock workers went back to work on the {n}th morning after the port authority agreed "
                         f"to a new contract with better pay and shorter night shifts.</p>" for n in range(6))
               + "</article></body></html>").encode()
    site.routes["/news/undated.html"] = Route(200, undated, HTML)
    site.routes["/news/undated-too.html"] = Route(200, undated.replace(b"Harbour", b"Airport"), HTML)
    site.routes["/feed.xml"] = Route(200, rss(site, ["undated", "06e5123e"]), {"Content-Type": "application/rss+xml"})
    site.routes["/news-sitemap.xml"] = Route(200, news_sitemap(site, ["undated-too"]), {"Content-Type": "text/xml"})
    add_source(sqlite_store, site.url("/feed.xml"), "1m", fetcher, kind="feed")
    add_source(sqlite_store, site.url("/news-sitemap.xml"), "1m", fetcher, kind="sitemap")
    poll_due(sqlite_store, fetcher, stages=[])
    by_title = {a.title: a for a in sqlite_store.latest_articles(limit=10)}
    for title in ("Harbour strike ends", "Airport strike ends"):  # feed pubDate; news:publication_date
        assert by_title[title].published_at == FEED_DATE and by_title[title].published_at_source == "feed"
    dated = next(a for t, a in by_title.items() if t.startswith("New York State"))
    assert dated.published_at_source == "json-ld" and dated.published_at != FEED_DATE


def test_a_site_source_is_rediscovered_when_polled(site, fetcher, sqlite_store):
    sqlite_store.save_source(SourceRecord(site.url("/"), "site", every_seconds=3600))
    report = poll_source(sqlite_store, sqlite_store.get_source(site.url("/")), fetcher, stages=[])
    assert report.ok and report.discovered == 2
    assert {(s.kind, s.url) for s in sqlite_store.list_sources()} == {
        ("site", site.url("/")), ("feed", site.url("/feed.xml")), ("sitemap", site.url("/news-sitemap.xml"))}


def test_add_source_detects_kinds_and_reports_nothing_found(site, fetcher, sqlite_store):
    result = add_source(sqlite_store, site.url("/news-sitemap.xml"), 600, fetcher)
    assert [(r.kind, r.url) for r in result.added] == [("sitemap", site.url("/news-sitemap.xml"))]
    result = add_source(sqlite_store, site.url("/feed.xml"), "5m", fetcher)
    assert [(r.kind, r.title) for r in result.added] == [("feed", "Local Wire")]
    again = add_source(sqlite_store, site.url("/feed.xml"), "1h", fetcher)
    assert not again.added and again.existing[0].every_seconds == 3600
    with local_server() as empty:
        empty.routes["/"] = Route(200, b"<html><body><p>No feeds here</p></body></html>", HTML)
        with pytest.raises(InputError, match="no feed or sitemap found"):
            add_source(sqlite_store, empty.url("/"), "15m", fetcher)
    with pytest.raises(InputError, match="not an http"):
        add_source(sqlite_store, "ftp://example.org/feed", "15m", fetcher)
    with Fetcher(FetchOptions(allow_private_networks=False)) as guarded, pytest.raises(BlockedAddressError):
        add_source(sqlite_store, site.url("/feed.xml"), "15m", guarded, kind="feed")
    assert "Local Wire" in export_opml(sqlite_store) and "news-sitemap" not in export_opml(sqlite_store)


def test_watch_loop_polls_on_schedule_and_stops_on_the_event(site, fetcher, sqlite_store):
    add_source(sqlite_store, site.url("/feed.xml"), "1s", fetcher, kind="feed")
    stop = threading.Event()
    lines: list[str] = []
    runner = threading.Thread(target=lambda: lines.append(watch(sqlite_store, fetcher, stop, stages=[],  # type: ignore[arg-type]
                                                                log=lines.append, max_idle_seconds=0.5)))
    runner.start()
    deadline = time.monotonic() + 15
    while sum(1 for s in site.seen if s.path == "/feed.xml") < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    runner.join(5)
    assert not runner.is_alive()
    report = lines[-1]
    assert report.cycles >= 3 and report.stored.inserted == len(FEED_PAGES)  # type: ignore[union-attr]
    feed_polls = [s for s in site.seen if s.path == "/feed.xml"]
    assert all(s.headers.get("if-none-match") == '"feed-v1"' for s in feed_polls[1:])


def test_intervals():
    assert parse_interval("15m") == 900 and parse_interval("1h30m") == 5400 and parse_interval("90") == 90
    assert parse_interval("2d") == 172800 and parse_interval(" 1H 5S ") == 3605
    for bad in ("", "soon", "15x", "0s", "-5m", "400d"):
        with pytest.raises(InputError):
            parse_interval(bad)
    assert format_interval(900) == "15m" and format_interval(5400) == "1h30m" and format_interval(86401) == "1d1s"
    assert [backoff_seconds(900, n) for n in range(4)] == [900, 1800, 3600, 7200]
    assert backoff_seconds(900, 30) == 86400 and backoff_seconds(2 * 86400, 3) == 2 * 86400


def test_a_source_removed_during_a_poll_stays_removed(site, fetcher, sqlite_store):
    add_source(sqlite_store, site.url("/feed.xml"), "15m", fetcher, kind="feed")
    source = sqlite_store.get_source(site.url("/feed.xml"))
    sqlite_store.remove_source(source.url)
    report = poll_source(sqlite_store, source, fetcher, stages=[])
    assert report.status == "removed"
    assert sqlite_store.list_sources() == []


def test_a_watch_cycle_delivers_new_articles_to_webhook_subscribers(site, fetcher, sqlite_store):
    """Always on, end to end: poll the feed, ingest, then POST what matched to a real receiver, signed, once."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from newsloom.subscriptions import create_subscription, verify_webhook

    received: list[tuple[bool, str]] = []

    class Hook(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            signed = verify_webhook("s3cret-for-tests", self.headers.get("X-Newsloom-Timestamp"), body,
                                    self.headers.get("X-Newsloom-Signature"))
            received.append((signed, self.headers.get("Idempotency-Key", "")))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    hook = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    try:
        add_source(sqlite_store, site.url("/feed.xml"), fetcher=fetcher, kind="feed")
        create_subscription(sqlite_store, "query", "the", webhook_url=f"http://127.0.0.1:{hook.server_address[1]}/",
                            secret="s3cret-for-tests", allow_private_networks=True)
        first = watch(sqlite_store, fetcher, threading.Event(), once=True)
        assert first.stored.inserted == len(FEED_PAGES)
        matching = len(sqlite_store.search("the", limit=100))  # a page in another language may not say "the"
        assert 0 < matching and first.webhooks_delivered == matching == len(received)
        assert all(signed for signed, _ in received)
        assert len({key for _, key in received}) == len(received)
        second = watch(sqlite_store, fetcher, threading.Event(), once=True)  # nothing new: nothing sent again
        assert second.webhooks_delivered == 0 and len(received) == matching
    finally:
        hook.shutdown()
        hook.server_close()


def test_status_page_shows_source_health(sqlite_store):
    from fastapi.testclient import TestClient

    from newsloom.web import create_app

    sqlite_store.save_source(SourceRecord("https://good.example/feed.xml", "feed", title="Good <b>Wire</b>", articles=7))
    sqlite_store.save_source(SourceRecord("https://bad.example/rss", "feed", error_count=3, last_error="HTTP 503"))
    page = TestClient(create_app(sqlite_store)).get("/status")
    assert page.status_code == 200
    assert "Good &lt;b&gt;Wire&lt;/b&gt;" in page.text and "HTTP 503" in page.text
    assert page.text.count('class="unhealthy"') == 1 and page.text.count('class="healthy"') == 1
