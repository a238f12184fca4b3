"""Feeds (RSS 0.91/1.0/2.0, Atom, JSON Feed), OPML, XML safety, and feed discovery against a real local server."""

from __future__ import annotations

import gzip
from datetime import datetime, timezone
from pathlib import Path

import pytest

pytest.importorskip("feedparser")

from newsloom.errors import InputError, InputTooLargeError  # noqa: E402
from newsloom.model import Article  # noqa: E402
from newsloom.sources.feeds import (  # noqa: E402
    FeedEntry,
    FeedSubscription,
    apply_feed_date,
    check_xml_safety,
    parse_feed,
    parse_opml,
    render_opml,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "sources"


def read(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_rss2() -> None:
    feed = parse_feed(read("rss2.xml"), "https://news.example.org/rss")
    assert feed.format == "rss" and feed.title == "Example Gazette & Tribune"
    assert feed.site_url == "https://news.example.org/"
    first = feed.entries[0]
    assert first.url == "https://news.example.org/2024/03/05/tram-line.html?utm_source=rss"
    assert first.title == "City council approves new tram line"
    assert first.summary == "The council voted 31 to 12 in favour."
    assert first.published_at == datetime(2024, 3, 5, 13, 30, tzinfo=timezone.utc)
    assert first.author == "Maria Lopez" and first.guid == "gazette-2024-0305-001"
    urls = [e.url for e in feed.entries]
    assert "https://news.example.org/2024/03/04/relative.html" in urls  # relative link resolved
    assert "https://news.example.org/2024/03/03/guid-only.html" in urls  # permalink guid
    assert not any(u.startswith("javascript") for u in urls) and len(urls) == 3


def test_atom_prefers_published_over_updated() -> None:
    feed = parse_feed(read("atom.xml"))
    assert feed.format == "atom" and feed.title == "Example Atom Wire"
    storm, only_updated = feed.entries
    assert storm.url == "https://wire.example.com/storm-ports"
    assert storm.published_at == datetime(2024, 3, 6, 5, 45, tzinfo=timezone.utc)
    assert storm.author == "Jonas Berg" and storm.summary == "Ferries cancelled until Thursday."
    assert storm.guid == "tag:wire.example.com,2024:storm-ports"
    assert only_updated.published_at == datetime(2024, 3, 5, 22, 0, tzinfo=timezone.utc)


def test_rss1_rdf() -> None:
    feed = parse_feed(read("rss1-rdf.xml"))
    assert feed.format == "rdf"
    (entry,) = feed.entries
    assert entry.url == "https://old.example.net/a1" and entry.author == "Ann Lee"
    assert entry.published_at == datetime(2003, 12, 13, 18, 30, 2, tzinfo=timezone.utc)


def test_rss091_with_its_public_dtd_is_accepted() -> None:
    feed = parse_feed(read("rss091.xml"))
    (entry,) = feed.entries
    assert entry.title == "Café opens downtown" and entry.published_at is None


def test_json_feed() -> None:
    feed = parse_feed(read("jsonfeed.json"), "https://desk.example.com/feed.json")
    assert feed.format == "json" and feed.site_url == "https://desk.example.com/"
    budget, relative = feed.entries
    assert budget.url == "https://desk.example.com/2024/budget"
    assert budget.summary == "The vote ended at 2 a.m."
    assert budget.published_at == datetime(2024, 3, 7, 7, 15, tzinfo=timezone.utc)
    assert budget.author == "Priya Natarajan" and budget.guid == "2024-03-07-budget"
    assert relative.url == "https://desk.example.com/2024/relative" and relative.author == "Desk Staff"
    assert relative.published_at == datetime(2024, 3, 6, 10, tzinfo=timezone.utc)


def test_text_input_is_never_fetched_or_opened() -> None:
    with pytest.raises(InputError):
        parse_feed("https://example.com/feed.xml")  # feedparser would fetch a URL string; we give it bytes
    with pytest.raises(InputError):
        parse_feed("/etc/passwd")


@pytest.mark.parametrize("name", ["billion-laughs.xml", "external-entity.xml"])
def test_entity_declarations_are_refused(name: str) -> None:
    with pytest.raises(InputError, match="entities"):
        parse_feed(read(name))


def test_entity_check_sees_through_utf16() -> None:
    data = read("billion-laughs.xml").decode().replace('<?xml version="1.0"?>', "").encode("utf-16")
    with pytest.raises(InputError, match="entities"):
        check_xml_safety(data)


@pytest.mark.parametrize(
    "content",
    [b"", b"\x00\x01\x02\xff" * 100, b"<html><body><p>Not a feed</p></body></html>", b"{\"version\": 1}",
     b"{not json", b"[" * 100_000, b'{"version": "https://jsonfeed.org/version/1.1", "items": 3}'],
)
def test_not_a_feed_is_an_input_error(content: bytes) -> None:
    with pytest.raises(InputError):
        parse_feed(content)


def test_truncated_feed_keeps_the_entries_before_the_break_and_says_it_broke() -> None:
    whole = parse_feed(read("rss2.xml"))
    cut = read("rss2.xml")
    cut = cut[: cut.index(b"<item>", cut.index(b"<item>") + 1)]  # broken off before the second item
    feed = parse_feed(cut)
    assert feed.truncated and not whole.truncated
    assert 0 < len(feed.entries) < len(whole.entries)
    assert all(e.url.startswith("https://news.example.org/") for e in feed.entries)


def test_feed_cut_before_any_entry_is_an_input_error() -> None:
    cut = read("rss2.xml")
    with pytest.raises(InputError, match="truncated"):
        parse_feed(cut[: cut.index(b"<item>") + 10])


def test_too_large_feed() -> None:
    with pytest.raises(InputTooLargeError):
        parse_feed(b" " * (21 * 1024 * 1024))


def test_apply_feed_date_only_fills_missing_dates() -> None:
    entry = FeedEntry("https://x.example/a", published_at=datetime(2024, 1, 2, tzinfo=timezone.utc), author="A. Writer")
    undated = Article(id="1", title="t", paragraphs=["p"])
    apply_feed_date(undated, entry)
    assert undated.published_at == entry.published_at and undated.published_at_source == "feed"
    assert undated.author == "A. Writer"
    dated = Article(id="2", title="t", paragraphs=["p"], published_at=datetime(2023, 5, 5, tzinfo=timezone.utc),
                    published_at_source="json-ld", published_at_confidence=0.95)
    apply_feed_date(dated, entry)
    assert dated.published_at.year == 2023 and dated.published_at_source == "json-ld"


def test_opml_round_trip() -> None:
    subs = parse_opml(read("feeds.opml"))
    assert [s.url for s in subs] == [
        "https://news.example.org/rss",
        "https://wire.example.com/atom.xml",
        "https://desk.example.com/feed.json",
    ]
    assert subs[0].category == "World" and subs[0].site_url == "https://news.example.org/" and subs[2].category is None
    again = parse_opml(render_opml(subs + [FeedSubscription("https://z.example/rss", "Bad\x00 title", None, "Misc")]))
    assert [(s.url, s.category) for s in again[:3]] == [(s.url, s.category) for s in subs]
    assert again[3].title == "Bad title"


@pytest.mark.parametrize("content", [b"<rss/>", b"<opml><head/></opml>", b"<opml", read("billion-laughs.xml")])
def test_bad_opml_is_an_input_error(content: bytes) -> None:
    with pytest.raises(InputError):
        parse_opml(content)


# ---------------------------------------------------------------------------------------------- discovery


@pytest.mark.server
def test_discovery_against_a_local_site() -> None:
    pytest.importorskip("httpx")
    from newsloom.sources.discovery import discover_sources, find_feed_links, sitemaps_from_robots
    from newsloom.sources.fetch import Fetcher

    from .sources_http import Route, local_server

    with local_server() as srv:
        home = (
            b'<html><head><link rel="alternate" type="application/rss+xml" title="Top" href="/rss">'
            b'<link rel="Alternate" type="application/atom+xml" href="' + srv.url("/atom").encode() + b'">'
            b'<link rel="alternate" type="application/feed+json" href="/feed.json">'
            b'<link rel="alternate" hreflang="de" href="/de/"><link rel="stylesheet" href="/s.css"></head><body/></html>'
        )
        srv.routes["/"] = Route(body=home, headers={"Content-Type": "text/html"})
        srv.routes["/robots.txt"] = Route(body=f"User-agent: *\nAllow: /\nSITEMAP: {srv.url('/news.xml')}\n".encode())
        feeds = find_feed_links(home, srv.url("/"))
        assert [(f.url, f.format) for f in feeds] == [
            (srv.url("/rss"), "rss"), (srv.url("/atom"), "atom"), (srv.url("/feed.json"), "json")]
        assert feeds[0].title == "Top"
        assert sitemaps_from_robots("sitemap: /s.xml # main\nDisallow: /x", "https://a.example/") == ["https://a.example/s.xml"]
        with Fetcher(allow_private_networks=True, per_host_delay=0.0) as fetcher:
            found = discover_sources(srv.url("/"), fetcher)
        assert [f.url for f in found.feeds] == [f.url for f in feeds]
        assert found.sitemaps == [srv.url("/news.xml")]

    # A bare site: no links, no Sitemap lines; the usual places are probed and must really parse.
    with local_server() as srv:
        srv.routes["/"] = Route(body=b"<html><body>hi</body></html>", headers={"Content-Type": "text/html"})
        srv.routes["/rss"] = Route(body=b"<html><body>home page again</body></html>", headers={"Content-Type": "text/html"})
        srv.routes["/rss.xml"] = Route(body=read("rss2.xml"), headers={"Content-Type": "application/rss+xml"})
        srv.routes["/sitemap.xml"] = Route(body=gzip.compress(read("sitemap.xml")), headers={"Content-Type": "application/x-gzip"})
        with Fetcher(allow_private_networks=True, per_host_delay=0.0) as fetcher:
            found = discover_sources(srv.url("/"), fetcher)
        assert [(f.url, f.format) for f in found.feeds] == [(srv.url("/rss.xml"), "rss")]
        assert found.sitemaps == [srv.url("/sitemap.xml")]
        assert "/feed" in srv.paths_seen() and "/rss" in srv.paths_seen()


def test_missing_extra_is_a_polite_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the 'sources' extra the modules still import; using them says what to install."""
    import sys

    from newsloom.errors import MissingExtraError

    for name in ("feedparser", "httpx", "fastwarc", "fastwarc.warc", "fastwarc.stream_io"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(MissingExtraError, match=r"newsloom\[sources\]"):
        parse_feed(read("rss2.xml"))
    assert parse_feed(read("jsonfeed.json")).entries  # JSON Feed needs no extra
    from newsloom.sources.fetch import Fetcher
    from newsloom.sources.warc import iter_warc

    with pytest.raises(MissingExtraError):
        Fetcher()
    with pytest.raises(MissingExtraError):
        list(iter_warc(FIXTURES / "rss2.xml"))
