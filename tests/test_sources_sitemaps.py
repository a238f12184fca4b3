"""Sitemaps: URL sets, indexes walked with limits, Google News, gzip, text lists, hostile XML, over a real server."""

from __future__ import annotations

import gzip
from datetime import datetime, timezone
from pathlib import Path

import pytest

from newsloom.errors import InputError, InputTooLargeError
from newsloom.sources.sitemaps import gunzip_limited, parse_sitemap, walk_sitemaps

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "sources"


def read(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def index_of(*urls: str) -> bytes:
    body = "".join(f"<sitemap><loc>{u}</loc></sitemap>" for u in urls)
    return f'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{body}</sitemapindex>'.encode()


def urlset_of(*urls: str) -> bytes:
    body = "".join(f"<url><loc>{u}</loc></url>" for u in urls)
    return f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{body}</urlset>'.encode()


def test_urlset() -> None:
    sitemap = parse_sitemap(read("sitemap.xml"), "https://news.example.org/sitemap.xml")
    assert sitemap.kind == "urlset"
    assert [u.url for u in sitemap.urls] == [
        "https://news.example.org/2024/03/05/tram-line.html",
        "https://news.example.org/about",
        "https://elsewhere.example.com/spam",  # kept here; walk_sitemaps drops other sites
    ]  # "not a url" is dropped: <loc> must be an absolute http(s) URL
    first = sitemap.urls[0]
    assert first.lastmod == datetime(2024, 3, 5, 14, tzinfo=timezone.utc)
    assert sitemap.urls[1].lastmod == datetime(2023, 1, 10, tzinfo=timezone.utc)
    assert first.news_published_at is None  # lastmod is never taken for a publication date


def test_google_news_sitemap() -> None:
    sitemap = parse_sitemap(read("news-sitemap.xml"))
    storm, markets = sitemap.urls
    assert storm.url == "https://news.example.org/2024/03/06/storm.html"
    assert storm.news_title == "Storm closes northern ports"
    assert storm.news_published_at == datetime(2024, 3, 6, 5, tzinfo=timezone.utc)
    assert storm.news_publication == "Example Gazette" and storm.news_language == "en"
    assert markets.news_published_at == datetime(2024, 3, 6, tzinfo=timezone.utc)


def test_gzipped_sitemap_and_text_sitemap() -> None:
    assert [u.url for u in parse_sitemap(gzip.compress(read("news-sitemap.xml"))).urls][0].endswith("storm.html")
    text = parse_sitemap(b"https://a.example/1\n\nhttps://a.example/2\n")
    assert text.kind == "text" and [u.url for u in text.urls] == ["https://a.example/1", "https://a.example/2"]


@pytest.mark.parametrize("name", ["billion-laughs.xml", "external-entity.xml"])
def test_entity_declarations_are_refused(name: str) -> None:
    with pytest.raises(InputError, match="entities"):
        parse_sitemap(read(name))


def test_entities_are_never_resolved_even_past_the_precheck() -> None:
    """lxml is set up with resolve_entities=False: an undeclared external reference stays unexpanded or fails."""
    from newsloom.sources.feeds import parse_xml_safely

    with pytest.raises(InputError):
        parse_xml_safely(b'<urlset><url><loc>https://x.example/&xxe;</loc></url></urlset>', "sitemap")


@pytest.mark.parametrize(
    "content",
    [b"<urlset><url><loc>https://x.example/</loc>", b"<html><body/></html>", b"\x00\x01binary\xff",
     b"just some words here", b"\x1f\x8b\x08\x00broken gzip", gzip.compress(read("sitemap.xml"))[:-30]],
)
def test_malformed_sitemaps_are_input_errors(content: bytes) -> None:
    with pytest.raises(InputError):
        parse_sitemap(content)


def test_gzip_bomb_stops_at_the_limit() -> None:
    bomb = gzip.compress(b"<" + b" " * (8 * 1024 * 1024))
    with pytest.raises(InputTooLargeError):
        gunzip_limited(bomb, limit=1024 * 1024)
    with pytest.raises(InputTooLargeError):
        parse_sitemap(gzip.compress(b" " * (51 * 1024 * 1024)))


def test_walk_follows_indexes_with_limits() -> None:
    pages = {
        "https://s.example/index.xml": index_of("https://s.example/a.xml", "https://s.example/nested.xml",
                                                "https://evil.example/x.xml", "https://s.example/broken.xml"),
        "https://s.example/a.xml": urlset_of("https://s.example/1", "https://s.example/2", "https://other.example/3"),
        "https://s.example/nested.xml": index_of("https://s.example/deep.xml", "https://s.example/index.xml"),
        "https://s.example/deep.xml": urlset_of("https://www.s.example/4"),
        "https://s.example/broken.xml": b"<urlset><url>",
    }
    asked: list[str] = []

    def get(url: str) -> bytes:
        asked.append(url)
        if url not in pages:
            raise InputError(f"{url}: HTTP 404")
        return pages[url]

    walk = walk_sitemaps(["https://s.example/index.xml"], get)
    assert [u.url for u in walk.urls] == ["https://s.example/1", "https://s.example/2", "https://www.s.example/4"]
    assert walk.urls[0].sitemap == "https://s.example/a.xml"
    assert [e[0] for e in walk.errors] == ["https://s.example/broken.xml"]
    assert "https://evil.example/x.xml" not in asked and asked.count("https://s.example/index.xml") == 1  # no loop

    shallow = walk_sitemaps(["https://s.example/index.xml"], get, max_depth=1)
    assert "https://s.example/deep.xml" not in shallow.sitemaps_read and shallow.truncated
    few = walk_sitemaps(["https://s.example/index.xml"], get, max_sitemaps=2)
    assert len(few.sitemaps_read) == 2 and few.truncated
    capped = walk_sitemaps(["https://s.example/index.xml"], get, max_urls=1)
    assert len(capped.urls) == 1 and capped.truncated


@pytest.mark.server
def test_walk_over_a_real_server() -> None:
    pytest.importorskip("httpx")
    from newsloom.sources.discovery import fetch_bytes
    from newsloom.sources.fetch import Fetcher

    from .sources_http import Route, local_server

    with local_server() as srv:
        srv.routes["/robots.txt"] = Route(body=f"User-agent: *\nDisallow: /hidden\nSitemap: {srv.url('/sitemap_index.xml')}\n".encode())
        srv.routes["/sitemap_index.xml"] = Route(
            body=index_of(srv.url("/news.xml.gz"), srv.url("/hidden/s.xml"), srv.url("/missing.xml")),
            headers={"Content-Type": "application/xml"})
        srv.routes["/news.xml.gz"] = Route(body=gzip.compress(urlset_of(srv.url("/a"), srv.url("/b"))),
                                           headers={"Content-Type": "application/x-gzip"})
        srv.routes["/hidden/s.xml"] = Route(body=urlset_of(srv.url("/secret")))
        with Fetcher(allow_private_networks=True, per_host_delay=0.0) as fetcher:
            roots = fetcher.robots_sitemaps(srv.url("/"))
            walk = walk_sitemaps(roots, lambda url: fetch_bytes(fetcher, url))
        assert [u.url for u in walk.urls] == [srv.url("/a"), srv.url("/b")]
        errors = dict(walk.errors)
        assert "robots.txt disallows" in errors[srv.url("/hidden/s.xml")]
        assert "404" in errors[srv.url("/missing.xml")]
        assert "/hidden/s.xml" not in srv.paths_seen()
