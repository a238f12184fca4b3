"""The polite, guarded fetcher against a real HTTP server on 127.0.0.1, plus SSRF guard unit tests.

Every test reaches 127.0.0.1 only because it says so (allow_private_networks=True or allowed_networks); the first
server test shows that without it the loopback address is refused before anything is sent. Redirects to other
private addresses are refused by the guard before any connection, so no traffic leaves the loopback interface.
"""

from __future__ import annotations

import gzip
import ipaddress
import socket
import time
from collections.abc import Iterator

import pytest

pytest.importorskip("httpx")
pytest.importorskip("protego")

from newsloom.errors import InputError, InputTooLargeError  # noqa: E402
from newsloom.sources.fetch import (  # noqa: E402
    BlockedAddressError,
    Fetcher,
    FetchError,
    FetchTimeoutError,
    ResponseTooLargeError,
    RobotsDisallowedError,
    blocked_reason,
    check_url_allowed,
    parse_ip_spelling,
    resolve_and_check,
)

from .sources_http import LocalServer, Route, local_server  # noqa: E402

PAGE = b"<html><head><title>Hello</title></head><body><p>A real enough page.</p></body></html>"
HTML = {"Content-Type": "text/html; charset=utf-8"}


# ------------------------------------------------------------------------------------------------- SSRF: units


@pytest.mark.parametrize(
    ("spelling", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),  # decimal
        ("0177.0.0.1", "127.0.0.1"),  # octal
        ("0x7f.1", "127.0.0.1"),  # hex, two-part form
        ("0x7f000001", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),  # octal as one number
        ("[::1]", "::1"),
        ("::ffff:127.0.0.1", "::ffff:7f00:1"),
        ("[fe80::1%25eth0]".replace("%25", "%"), "fe80::1"),
        ("169.254.169.254.", "169.254.169.254"),
    ],
)
def test_ip_spellings_are_understood(spelling: str, address: str) -> None:
    assert parse_ip_spelling(spelling) == ipaddress.ip_address(address)


@pytest.mark.parametrize("host", ["example.com", "127.0.0.1.example.com", "0x7f.example", "1.2.3.4.5", ""])
def test_host_names_are_not_ip_spellings(host: str) -> None:
    assert parse_ip_spelling(host) is None


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "100.64.0.1", "169.254.169.254", "169.254.1.1",
        "0.0.0.0", "224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255", "198.18.0.1", "192.0.0.192",
        "100.100.100.200", "::1", "::", "fd00:ec2::254", "fc00::1", "fe80::1", "ff02::1", "::ffff:127.0.0.1",
        "::ffff:10.0.0.1", "::ffff:169.254.169.254", "2002:7f00:1::", "2002:a00:1::", "64:ff9b::a00:1",
        "64:ff9b::7f00:1", "2001:db8::1", "::127.0.0.1",
    ],
)
def test_non_public_addresses_are_blocked(address: str) -> None:
    assert blocked_reason(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["8.8.8.8", "93.184.216.34", "2606:4700:4700::1111", "::ffff:8.8.8.8", "2002:808:808::"])
def test_public_addresses_pass(address: str) -> None:
    assert blocked_reason(ipaddress.ip_address(address)) is None


def test_metadata_endpoints_are_named() -> None:
    assert "metadata" in (blocked_reason(ipaddress.ip_address("169.254.169.254")) or "")
    assert "metadata" in (blocked_reason(ipaddress.ip_address("fd00:ec2::254")) or "")


@pytest.mark.parametrize(
    "url",
    [
        "http://2130706433/",
        "http://0177.0.0.1/",
        "http://0x7f.1:8080/admin",
        "http://[::ffff:127.0.0.1]/",
        "http://[::1]:80/",
        "https://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/",
        "http://localhost/",
    ],
)
def test_urls_to_private_addresses_are_refused(url: str) -> None:
    with pytest.raises(BlockedAddressError):
        check_url_allowed(url)


@pytest.mark.parametrize("url", ["ftp://example.com/", "file:///etc/passwd", "http://user:pw@example.com/", "/relative", "http://[::1/"])
def test_bad_urls_are_refused_with_a_fetch_error(url: str) -> None:
    with pytest.raises(FetchError):
        check_url_allowed(url)


def test_allow_private_networks_lets_loopback_through() -> None:
    assert check_url_allowed("http://0x7f.1/", allow_private_networks=True) == "0x7f.1"
    assert check_url_allowed("http://127.0.0.1/", allowed_networks=["127.0.0.0/8"]) == "127.0.0.1"
    with pytest.raises(BlockedAddressError):
        check_url_allowed("http://10.0.0.1/", allowed_networks=["127.0.0.0/8"])


def test_a_host_with_any_private_record_is_refused() -> None:
    def resolver(host: str, port: int, **_: object) -> list[tuple]:
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.5", port)),
        ]

    with pytest.raises(BlockedAddressError, match="10.0.0.5"):
        resolve_and_check("mixed.example", 80, resolver=resolver)


def test_errors_are_input_errors() -> None:
    assert issubclass(BlockedAddressError, FetchError) and issubclass(FetchError, InputError)
    assert issubclass(ResponseTooLargeError, InputTooLargeError)


# ------------------------------------------------------------------------------------------- the real server


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with local_server() as srv:
        srv.routes["/robots.txt"] = Route(
            body=b"User-agent: *\nDisallow: /private\n\nSitemap: http://127.0.0.1/sitemap.xml\n",
            headers={"Content-Type": "text/plain"},
        )
        srv.routes["/page"] = Route(body=PAGE, headers=HTML)
        srv.routes["/private/page"] = Route(body=PAGE, headers=HTML)
        yield srv


class FakeTime:
    """A clock that moves only when the fetcher sleeps, so waits can be read without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


def make_fetcher(**overrides: object) -> Fetcher:
    settings: dict[str, object] = {"allow_private_networks": True, "per_host_delay": 0.0, "max_retries": 0}
    settings.update(overrides)
    return Fetcher(**settings)  # type: ignore[arg-type]


@pytest.mark.server
def test_loopback_is_refused_without_the_opt_in(server: LocalServer) -> None:
    before = len(server.seen)
    with Fetcher(per_host_delay=0.0) as fetcher, pytest.raises(BlockedAddressError, match="loopback"):
        fetcher.fetch(server.url("/page"))
    assert len(server.seen) == before  # not even robots.txt was asked for


@pytest.mark.server
def test_fetch_a_page(server: LocalServer) -> None:
    with make_fetcher(user_agent="newsloom-test/1.0") as fetcher:
        result = fetcher.fetch(server.url("/page"))
    assert result.ok and result.status == 200 and not result.not_modified
    assert result.content == PAGE
    assert result.content_type == "text/html"
    assert result.final_url == result.url == server.url("/page")
    assert result.fetched_at.tzinfo is not None
    assert server.seen[-1].headers["user-agent"] == "newsloom-test/1.0"
    doc = result.to_raw_document()
    assert doc.content == PAGE and doc.url == server.url("/page") and doc.fetched_at == result.fetched_at


@pytest.mark.server
def test_robots_txt_is_honoured(server: LocalServer) -> None:
    with make_fetcher() as fetcher:
        with pytest.raises(RobotsDisallowedError):
            fetcher.fetch(server.url("/private/page"))
        assert "/private/page" not in server.paths_seen()
        assert fetcher.allowed_by_robots(server.url("/page"))
        assert fetcher.robots_sitemaps(server.url("/")) == ["http://127.0.0.1/sitemap.xml"]
        fetcher.fetch(server.url("/page"))
    assert server.paths_seen().count("/robots.txt") >= 1
    with make_fetcher(obey_robots=False) as fetcher:
        assert fetcher.fetch(server.url("/private/page")).ok


@pytest.mark.server
def test_robots_crawl_delay_spaces_requests() -> None:
    fake = FakeTime()
    with local_server() as srv:
        srv.routes["/robots.txt"] = Route(body=b"User-agent: *\nCrawl-delay: 3\n")
        srv.routes["/a"] = Route(body=PAGE, headers=HTML)
        with make_fetcher(sleep=fake.sleep, clock=fake.clock) as fetcher:
            fetcher.fetch(srv.url("/a"))
            fetcher.fetch(srv.url("/a"))
    assert fake.waits == [3.0]  # robots.txt, then /a at once, then /a three seconds after it


@pytest.mark.server
def test_a_failing_robots_txt_blocks_the_host_only_until_a_short_retry() -> None:
    fake = FakeTime()
    with local_server() as srv:
        srv.routes["/robots.txt"] = Route(503, b"down for a minute")
        srv.routes["/a"] = Route(body=PAGE, headers=HTML)
        with make_fetcher(sleep=fake.sleep, clock=fake.clock) as fetcher:
            with pytest.raises(RobotsDisallowedError):
                fetcher.fetch(srv.url("/a"))  # RFC 9309: a 5xx robots.txt disallows everything, for now
            fake.now += 60
            with pytest.raises(RobotsDisallowedError):
                fetcher.fetch(srv.url("/a"))  # still cached a minute later: no hammering of a failing server
            assert srv.paths_seen().count("/robots.txt") == 1
            srv.routes["/robots.txt"] = Route(body=b"User-agent: *\nDisallow: /private/\n")
            fake.now += 600
            assert fetcher.fetch(srv.url("/a")).ok  # asked again well before a day has passed
    assert srv.paths_seen().count("/robots.txt") == 2


@pytest.mark.server
def test_per_host_delay(server: LocalServer) -> None:
    fake = FakeTime()
    with make_fetcher(per_host_delay=0.8, sleep=fake.sleep, clock=fake.clock) as fetcher:
        fetcher.fetch(server.url("/page"))
        fetcher.fetch(server.url("/page"))
    assert fake.waits == pytest.approx([0.8, 0.8])  # robots.txt, then each page 0.8 s after the previous request


@pytest.mark.server
def test_per_host_concurrency_limit(server: LocalServer) -> None:
    server.routes["/slowish"] = Route(body=PAGE, headers=HTML, delay=0.25)
    with make_fetcher(per_host_concurrency=1) as fetcher:
        fetcher.fetch(server.url("/robots.txt"), allowed_content_types=None)  # warm the robots cache
        started = time.monotonic()
        results = list(fetcher.fetch_many([server.url("/slowish")] * 3, workers=3))
        elapsed = time.monotonic() - started
    assert all(not isinstance(r, FetchError) and r.ok for _, r in results)
    assert elapsed >= 0.7  # three 0.25 s answers, one at a time
    with make_fetcher(per_host_concurrency=3) as fetcher:
        fetcher.fetch(server.url("/robots.txt"), allowed_content_types=None)
        started = time.monotonic()
        list(fetcher.fetch_many([server.url("/slowish")] * 3, workers=3))
        assert time.monotonic() - started < 0.7


@pytest.mark.server
def test_conditional_get(server: LocalServer) -> None:
    def answer(headers: dict[str, str]) -> Route:
        if headers.get("if-none-match") == '"v1"' or headers.get("if-modified-since") == "Tue, 02 Jan 2024 10:00:00 GMT":
            return Route(304, headers={"ETag": '"v1"'})
        return Route(body=PAGE, headers={**HTML, "ETag": '"v1"', "Last-Modified": "Tue, 02 Jan 2024 10:00:00 GMT"})

    server.routes["/cached"] = Route(dynamic=answer)
    with make_fetcher() as fetcher:
        first = fetcher.fetch(server.url("/cached"))
        assert first.ok and first.etag == '"v1"' and first.last_modified == "Tue, 02 Jan 2024 10:00:00 GMT"
        again = fetcher.fetch(server.url("/cached"), etag=first.etag)
        assert again.not_modified and again.status == 304 and again.content == b""
        by_date = fetcher.fetch(server.url("/cached"), last_modified=first.last_modified)
        assert by_date.not_modified


@pytest.mark.server
def test_redirects_are_followed_and_recorded(server: LocalServer) -> None:
    server.routes["/r1"] = Route(302, headers={"Location": "/r2"})
    server.routes["/r2"] = Route(301, headers={"Location": server.url("/page")})
    with make_fetcher() as fetcher:
        result = fetcher.fetch(server.url("/r1"))
    assert result.ok and result.content == PAGE
    assert result.url == server.url("/r1") and result.final_url == server.url("/page")
    assert result.redirects == [server.url("/r2"), server.url("/page")]


@pytest.mark.server
def test_redirect_limit(server: LocalServer) -> None:
    server.routes["/loop"] = Route(302, headers={"Location": "/loop"})
    with make_fetcher(max_redirects=3) as fetcher, pytest.raises(FetchError, match="more than 3 redirects"):
        fetcher.fetch(server.url("/loop"))
    assert server.paths_seen().count("/loop") == 4


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://2130706434/",  # 127.0.0.2, outside the one allowed address
        "http://0x7f.2/",
        "http://[::ffff:10.0.0.1]/",
        "http://[fd00:ec2::254]/",
        "http://10.0.0.1/admin",
    ],
)
@pytest.mark.server
def test_redirects_to_private_addresses_are_refused(server: LocalServer, target: str) -> None:
    server.routes["/evil-redirect"] = Route(302, headers={"Location": target})
    with make_fetcher(allow_private_networks=False, allowed_networks=("127.0.0.1/32",)) as fetcher:
        with pytest.raises(BlockedAddressError):
            fetcher.fetch(server.url("/evil-redirect"))


@pytest.mark.server
def test_dns_rebinding_is_caught_at_connect(server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """The name resolves to a public address when checked, then to loopback: the connection checks again."""
    real_getaddrinfo = socket.getaddrinfo
    calls: list[str] = []

    def rebinding(host: str, port: int, *args: object, **kwargs: object) -> list:
        if host != "rebind.test":
            return real_getaddrinfo(host, port, *args, **kwargs)  # type: ignore[arg-type]
        calls.append(host)
        address = "93.184.216.34" if len(calls) == 1 else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    before = len(server.seen)
    with Fetcher(per_host_delay=0.0, obey_robots=False) as fetcher:
        with pytest.raises(BlockedAddressError, match="127.0.0.1"):
            fetcher.fetch(f"http://rebind.test:{server.port}/page")
    assert len(calls) == 2 and len(server.seen) == before


@pytest.mark.server
def test_redirect_to_an_invalid_url(server: LocalServer) -> None:
    server.routes["/bad-location"] = Route(302, headers={"Location": "http://[::1/oops"})
    server.routes["/ftp-location"] = Route(302, headers={"Location": "ftp://example.com/file"})
    with make_fetcher() as fetcher:
        with pytest.raises(FetchError, match="(?i)invalid URL|not a valid URL"):
            fetcher.fetch(server.url("/bad-location"))
        with pytest.raises(FetchError, match="only http and https"):
            fetcher.fetch(server.url("/ftp-location"))


@pytest.mark.server
def test_slow_answer_times_out(server: LocalServer) -> None:
    server.routes["/slow"] = Route(body=PAGE, headers=HTML, delay=2.0)
    started = time.monotonic()
    with make_fetcher(read_timeout=0.3) as fetcher, pytest.raises(FetchTimeoutError):
        fetcher.fetch(server.url("/slow"))
    assert time.monotonic() - started < 1.5


@pytest.mark.server
def test_dripping_body_hits_the_total_deadline(server: LocalServer) -> None:
    server.routes["/drip"] = Route(body=b"x" * 20 * 1024, headers=HTML, drip=0.1)
    started = time.monotonic()
    with make_fetcher(total_timeout=0.5) as fetcher, pytest.raises(FetchTimeoutError, match="within"):
        fetcher.fetch(server.url("/drip"))
    assert time.monotonic() - started < 1.5


@pytest.mark.server
def test_declared_huge_body_is_refused(server: LocalServer) -> None:
    server.routes["/huge"] = Route(body=b"a" * (3 * 1024 * 1024), headers=HTML)
    with make_fetcher(max_body_bytes=1024 * 1024) as fetcher, pytest.raises(ResponseTooLargeError, match="Content-Length"):
        fetcher.fetch(server.url("/huge"))


@pytest.mark.server
def test_undeclared_huge_body_stops_at_the_limit(server: LocalServer) -> None:
    server.routes["/huge-stream"] = Route(body=b"a" * (3 * 1024 * 1024), headers=HTML, omit_length=True)
    with make_fetcher(max_body_bytes=1024 * 1024) as fetcher, pytest.raises(ResponseTooLargeError, match="limit"):
        fetcher.fetch(server.url("/huge-stream"))


@pytest.mark.server
def test_gzip_body_is_decoded(server: LocalServer) -> None:
    server.routes["/gz"] = Route(body=gzip.compress(PAGE), headers={**HTML, "Content-Encoding": "gzip"})
    with make_fetcher() as fetcher:
        assert fetcher.fetch(server.url("/gz")).content == PAGE
    assert "gzip" in server.seen[-1].headers.get("accept-encoding", "")


@pytest.mark.server
def test_gzip_bomb_stops_at_the_decoded_limit(server: LocalServer) -> None:
    bomb = gzip.compress(b"\0" * (64 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 100 * 1024
    server.routes["/bomb"] = Route(body=bomb, headers={**HTML, "Content-Encoding": "gzip"})
    started = time.monotonic()
    with make_fetcher(max_decoded_bytes=2 * 1024 * 1024) as fetcher, pytest.raises(ResponseTooLargeError, match="decodes"):
        fetcher.fetch(server.url("/bomb"))
    assert time.monotonic() - started < 2.0


@pytest.mark.server
def test_corrupt_gzip_is_a_fetch_error(server: LocalServer) -> None:
    server.routes["/badgz"] = Route(body=b"\x1f\x8b\x08\x00not gzip at all", headers={**HTML, "Content-Encoding": "gzip"})
    server.routes["/cutgz"] = Route(body=gzip.compress(PAGE * 50)[:-20], headers={**HTML, "Content-Encoding": "gzip"})
    with make_fetcher() as fetcher:
        with pytest.raises(FetchError, match="gzip"):
            fetcher.fetch(server.url("/badgz"))
        with pytest.raises(FetchError, match="truncated"):
            fetcher.fetch(server.url("/cutgz"))


@pytest.mark.server
def test_content_type_is_checked(server: LocalServer) -> None:
    server.routes["/image.png"] = Route(body=b"\x89PNG\r\n\x1a\n", headers={"Content-Type": "image/png"})
    with make_fetcher() as fetcher:
        with pytest.raises(FetchError, match="content type 'image/png'"):
            fetcher.fetch(server.url("/image.png"))
        assert fetcher.fetch(server.url("/image.png"), allowed_content_types=None).ok
        with pytest.raises(FetchError):
            fetcher.fetch(server.url("/page"), allowed_content_types=("application/rss+xml",))


@pytest.mark.server
def test_retries_honour_retry_after(server: LocalServer) -> None:
    hits: list[int] = []

    def flaky(_: dict[str, str]) -> Route:
        hits.append(1)
        if len(hits) <= 2:
            return Route(503, b"busy", headers={"Retry-After": "2"})
        return Route(body=PAGE, headers=HTML)

    server.routes["/flaky"] = Route(dynamic=flaky)
    waits: list[float] = []
    with make_fetcher(max_retries=3, sleep=waits.append) as fetcher:
        result = fetcher.fetch(server.url("/flaky"))
    assert result.ok and len(hits) == 3
    assert waits == [2.0, 2.0]


@pytest.mark.server
def test_retries_back_off_exponentially_then_give_the_answer_back(server: LocalServer) -> None:
    server.routes["/down"] = Route(500, b"down")
    server.routes["/rate"] = Route(429, b"slow down", headers={"Retry-After": "7200"})
    waits: list[float] = []
    with make_fetcher(max_retries=3, backoff_base=0.5, sleep=waits.append) as fetcher:
        result = fetcher.fetch(server.url("/down"))
        assert result.status == 500 and not result.ok
        assert len(waits) == 3 and waits[0] < waits[1] < waits[2] and 0.5 <= waits[0] < 0.7
        waits.clear()
        limited = fetcher.fetch(server.url("/rate"))
    assert limited.status == 429 and waits == []  # two hours is more than we wait: answer given back at once


@pytest.mark.server
def test_not_found_is_a_result_not_an_exception(server: LocalServer) -> None:
    with make_fetcher() as fetcher:
        result = fetcher.fetch(server.url("/no-such-page"))
    assert result.status == 404 and not result.ok


def test_unknown_option_fails_loudly() -> None:
    with pytest.raises(TypeError):
        Fetcher(no_such_option=1)
