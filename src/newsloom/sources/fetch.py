"""Polite, guarded HTTP fetching for feeds, sitemaps and pages (httpx; the ``sources`` extra).

    Fetcher(FetchOptions(...)).fetch(url, etag=..., last_modified=...) -> FetchResult

What every fetch goes through, in order:

1. SSRF guard. The host is resolved and every address it resolves to must be a public one: loopback, private,
   link-local, CGNAT, multicast, reserved, unspecified and cloud-metadata addresses are refused, also when spelled
   oddly (``2130706433``, ``0177.0.0.1``, ``0x7f.1``) or wrapped in IPv6 (``::ffff:127.0.0.1``, 6to4, NAT64,
   Teredo). The check runs again for every redirect hop, and once more inside the connection itself: the transport
   connects only to the address it has just checked, so a DNS answer that changes between the check and the
   connect (DNS rebinding) cannot slip through. ``allow_private_networks=True`` turns the guard off (tests, intranet
   crawls); ``allowed_networks`` exempts named networks only.
2. robots.txt (protego), fetched once per host through the same guard and cached; RFC 9309 rules: a 4xx robots.txt
   allows everything, a 5xx or unreachable one disallows everything for that host. A Crawl-delay raises the delay.
3. Politeness: at most ``per_host_concurrency`` requests in flight per host and ``per_host_delay`` seconds between
   the starts of two requests to one host.
4. The request: configurable user agent, conditional GET (``If-None-Match``/``If-Modified-Since`` from what the
   caller persisted), connect/read timeouts plus a wall-clock deadline for the whole body (a server that drips one
   byte a second is cut off), redirects followed by hand (each hop checked, at most ``max_redirects``).
5. The body is streamed: at most ``max_body_bytes`` on the wire and ``max_decoded_bytes`` after gzip/deflate
   decoding (a decompression bomb stops at the limit instead of filling memory). The content type is checked.
6. 429 and 5xx answers (and timeouts) are retried with exponential backoff and jitter, honouring ``Retry-After``;
   a Retry-After longer than ``max_retry_wait`` ends the retries and the answer is given back.

Error tree (defined here until the lead moves it to ``errors.py``)::

    InputError
    └── FetchError                   a URL could not be fetched (network, status-free failures, bad type, redirects)
        ├── BlockedAddressError      the SSRF guard refused the address (nothing was sent)
        ├── RobotsDisallowedError    robots.txt disallows the URL for our user agent
        ├── FetchTimeoutError        connect/read timeout or the body deadline passed
        └── ResponseTooLargeError    over max_body_bytes / max_decoded_bytes (also an InputTooLargeError)

HTTP error statuses (404, 410, a 503 that outlived its retries) are not exceptions: the FetchResult carries the
status and ``ok`` says whether it is a 2xx answer.
"""

from __future__ import annotations

import dataclasses
import email.utils
import ipaddress
import random
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from ..errors import (
    BlockedAddressError,
    FetchError,
    FetchTimeoutError,
    MissingExtraError,
    ResponseTooLargeError,
    RobotsDisallowedError,
)

if TYPE_CHECKING:
    import httpx

    from ..model import RawDocument

__all__ = [
    "FetchOptions",
    "FetchResult",
    "Fetcher",
    "FetchError",
    "BlockedAddressError",
    "RobotsDisallowedError",
    "FetchTimeoutError",
    "ResponseTooLargeError",
    "parse_ip_spelling",
    "blocked_reason",
    "check_url_allowed",
    "resolve_and_check",
    "DEFAULT_USER_AGENT",
]

DEFAULT_USER_AGENT = "newsloom/0.1 (+https://github.com/newsloom/newsloom; polite news crawler)"
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_ROBOTS_MAX_BYTES = 512 * 1024  # RFC 9309 asks crawlers to read at least 500 KiB.
_ROBOTS_TTL_SECONDS = 24 * 3600
# An unreachable or failing robots.txt disallows the host, but only until this retry: a server's bad minute must
# not silence a source for a day.
_ROBOTS_FAILURE_TTL_SECONDS = 300.0
_MAX_CRAWL_DELAY_SECONDS = 30.0  # a robots.txt asking for more is honoured at this value (and logged by callers)


# Errors (FetchError and its subclasses) live in newsloom.errors with the rest of the tree.


# ---------------------------------------------------------------------------------------------------- SSRF guard

# Non-global networks Python's ipaddress does not flag on every version, plus named cloud metadata endpoints
# (checked first so the message says what they are).
_METADATA_ADDRESSES = {
    ipaddress.ip_address("169.254.169.254"): "cloud metadata endpoint",
    ipaddress.ip_address("fd00:ec2::254"): "cloud metadata endpoint (AWS IPv6)",
    ipaddress.ip_address("100.100.100.200"): "cloud metadata endpoint (Alibaba)",
    ipaddress.ip_address("192.0.0.192"): "cloud metadata endpoint (Oracle)",
}
_EXTRA_BLOCKED_NETWORKS = (
    (ipaddress.ip_network("100.64.0.0/10"), "carrier-grade NAT"),
    (ipaddress.ip_network("0.0.0.0/8"), "'this network'"),
    (ipaddress.ip_network("192.0.0.0/24"), "IETF protocol assignments"),
    (ipaddress.ip_network("198.18.0.0/15"), "benchmarking"),
    (ipaddress.ip_network("64:ff9b:1::/48"), "local-use NAT64"),
)
_NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_ip_spelling(host: str) -> IPAddress | None:
    """The IP address ``host`` spells, in any spelling a resolver accepts, or None for a host name.

    Besides the usual dotted quad and IPv6 (bracketed or not), the BSD ``inet_aton`` forms are understood because
    libc resolvers (and so HTTP clients) accept them: ``2130706433``, ``0177.0.0.1``, ``0x7f.1``, ``127.1``.
    """
    host = host.strip().rstrip(".")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    host = host.split("%", 1)[0]  # an IPv6 zone id ("fe80::1%eth0") does not change the address
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if not host or not all(part for part in host.split(".")):
        return None
    # inet_aton accepts decimal, octal (leading 0) and hex (0x) parts and 1-4 part forms; it rejects host names.
    if not all(_looks_numeric(part) for part in host.split(".")):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def _looks_numeric(part: str) -> bool:
    lowered = part.lower()
    if lowered.startswith("0x"):
        return all(c in "0123456789abcdef" for c in lowered[2:])
    return lowered.isdigit()


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, Teredo client, NAT64), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64_WELL_KNOWN:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    # IPv4-compatible (deprecated) ::a.b.c.d
    if int(address) >> 32 == 0 and int(address) > 1:
        return ipaddress.IPv4Address(int(address))
    return None


def blocked_reason(address: IPAddress) -> str | None:
    """Why ``address`` must not be fetched (a short phrase), or None when it is a public address."""
    if address in _METADATA_ADDRESSES:
        return _METADATA_ADDRESSES[address]
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            inner = blocked_reason(embedded)
            return f"IPv6 wrapping {embedded} ({inner})" if inner else None
    for network, name in _EXTRA_BLOCKED_NETWORKS:
        if address.version == network.version and address in network:
            return name
    checks = (
        ("loopback", address.is_loopback),
        ("unspecified", address.is_unspecified),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private network", address.is_private),
        ("reserved", address.is_reserved),
        ("not globally routable", not address.is_global),
    )
    for name, hit in checks:
        if hit:
            return name
    return None


def _exempt(address: IPAddress, allowed_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]) -> bool:
    return any(address.version == net.version and address in net for net in allowed_networks)


def _check_address(address: IPAddress, host: str, guard: _Guard) -> None:
    if guard.allow_private_networks or _exempt(address, guard.allowed_networks):
        return
    reason = blocked_reason(address)
    if reason:
        shown = host if str(address) == host else f"{host} ({address})"
        raise BlockedAddressError(f"refusing to fetch {shown}: {reason} address", url=host)


@dataclass(frozen=True, slots=True)
class _Guard:
    allow_private_networks: bool = False
    allowed_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()


def resolve_and_check(
    host: str,
    port: int,
    *,
    allow_private_networks: bool = False,
    allowed_networks: Iterable[str] = (),
    resolver: Callable[..., list[Any]] = socket.getaddrinfo,
) -> list[IPAddress]:
    """The addresses ``host`` resolves to, all checked; BlockedAddressError when any one is not public.

    Refusing when *any* address is private (not only the first) stops a host that answers with a public and a
    private record from reaching the private one on a retry.
    """
    guard = _Guard(allow_private_networks, tuple(ipaddress.ip_network(n) for n in allowed_networks))
    return _resolve_checked(host, port, guard, resolver)


def _resolve_checked(host: str, port: int, guard: _Guard, resolver: Callable[..., list[Any]]) -> list[IPAddress]:
    literal = parse_ip_spelling(host)
    if literal is not None:
        _check_address(literal, host, guard)
        return [literal]
    if not host or len(host) > 253:
        raise FetchError(f"not a valid host name: {host!r}", url=host)
    try:
        infos = resolver(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError) as exc:
        raise FetchError(f"cannot resolve {host}: {exc}", url=host) from exc
    addresses: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        _check_address(address, host, guard)
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise FetchError(f"{host} resolves to no address", url=host)
    return addresses


def check_url_allowed(url: str, *, allow_private_networks: bool = False, allowed_networks: Iterable[str] = ()) -> str:
    """Check a URL before any request: http(s) only, no credentials, a host whose addresses are all public.

    Returns the host name. Raises FetchError (bad URL) or BlockedAddressError (non-public address).
    """
    guard = _Guard(allow_private_networks, tuple(ipaddress.ip_network(n) for n in allowed_networks))
    host, port = _split_http_url(url)
    _resolve_checked(host, port, guard, socket.getaddrinfo)
    return host


def _split_http_url(url: str) -> tuple[str, int]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise FetchError(f"not a valid URL: {url!r} ({exc})", url=url) from exc
    if parts.scheme not in ("http", "https"):
        raise FetchError(f"only http and https URLs are fetched, not {parts.scheme or 'a relative URL'}: {url}", url=url)
    if not parts.hostname:
        raise FetchError(f"URL has no host: {url}", url=url)
    if parts.username or parts.password:
        raise FetchError(f"URLs with credentials are not fetched: {parts.hostname}", url=url)
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


def _guarded_transport(guard: _Guard, verify: bool, max_connections: int) -> httpx.HTTPTransport:
    """An httpx transport whose every new connection resolves, checks and then connects to the checked address.

    httpx has no public hook for the network backend, so the transport's connection pool is rebuilt with one; the
    pool keeps the origin host name, so TLS still sends it as SNI and verifies the certificate against it.
    """
    import httpcore
    import httpx

    class GuardedBackend(httpcore.SyncBackend):
        def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                        socket_options: Any = None) -> httpcore.NetworkStream:
            addresses = _resolve_checked(host, port, guard, socket.getaddrinfo)
            last_error: Exception | None = None
            for address in addresses:
                try:
                    return super().connect_tcp(str(address), port, timeout, local_address, socket_options)
                except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                    last_error = exc
            assert last_error is not None
            raise last_error

    transport = httpx.HTTPTransport(verify=verify, trust_env=False)
    # trust_env=False: a proxy from the environment would resolve names itself and bypass the check above.
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(verify=verify, trust_env=False),
        max_connections=max_connections,
        max_keepalive_connections=max_connections,
        keepalive_expiry=5.0,
        network_backend=GuardedBackend(),
    )
    return transport


# ------------------------------------------------------------------------------------------------ options, result


@dataclass(slots=True)
class FetchOptions:
    """How a Fetcher behaves. Defaults suit polling news sites politely."""

    user_agent: str = DEFAULT_USER_AGENT
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    total_timeout: float = 60.0  # wall clock for one request, body included
    max_redirects: int = 5
    max_body_bytes: int = 10 * 1024 * 1024  # on the wire
    max_decoded_bytes: int = 50 * 1024 * 1024  # after Content-Encoding
    # Allowed media types for 2xx answers; None allows any. A missing Content-Type is let through (callers sniff).
    allowed_content_types: tuple[str, ...] | None = (
        "text/html",
        "application/xhtml+xml",
        "text/xml",
        "application/xml",
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/feed+json",
        "application/json",
        "text/plain",
        "application/gzip",
        "application/x-gzip",
        "application/octet-stream",
    )
    per_host_delay: float = 1.0
    per_host_concurrency: int = 2
    max_retries: int = 3
    backoff_base: float = 0.5  # seconds; attempt n waits base * 2**n (+ jitter) unless Retry-After says otherwise
    max_retry_wait: float = 120.0  # a longer Retry-After ends the retries and returns the answer
    obey_robots: bool = True
    allow_private_networks: bool = False
    allowed_networks: tuple[str, ...] = ()  # e.g. ("10.1.2.0/24",): exempt from the SSRF guard
    verify_tls: bool = True
    max_connections: int = 20


@dataclass(slots=True)
class FetchResult:
    """One fetched URL. ``content`` is the decoded body (empty on 304); ``headers`` have lower-case names."""

    url: str
    final_url: str
    status: int
    headers: dict[str, str]
    content: bytes
    fetched_at: datetime
    not_modified: bool = False
    redirects: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def etag(self) -> str | None:
        """What to persist and give back as ``etag=`` next time."""
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        """What to persist and give back as ``last_modified=`` next time."""
        return self.headers.get("last-modified")

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    def to_raw_document(self, source: str | None = None) -> RawDocument:
        """The page as a RawDocument for extraction (fetched_at is the fetch time, never a publication date)."""
        from ..model import RawDocument  # noqa: F811 - at run time too

        kind = "text/plain" if self.content_type == "text/plain" else "text/html"
        return RawDocument(self.content, kind, url=self.final_url, source=source or self.url,
                           fetched_at=self.fetched_at, headers=dict(self.headers))


# -------------------------------------------------------------------------------------------------- politeness


class _HostGate:
    """Per-host concurrency limit and minimum spacing between request starts."""

    def __init__(self, concurrency: int) -> None:
        self.slots = threading.Semaphore(max(1, concurrency))
        self.lock = threading.Lock()
        self.next_start = 0.0
        self.delay = 0.0


@dataclass(slots=True)
class _Robots:
    parser: Any  # protego.Protego, or None when the rules are "allow all" / "disallow all"
    allow_all: bool
    fetched: float
    sitemaps: list[str]
    ttl: float = _ROBOTS_TTL_SECONDS


# ------------------------------------------------------------------------------------------------------ fetcher


class Fetcher:
    """A polite, guarded HTTP client. Thread-safe: share one per process and call ``fetch`` from several threads,
    or use ``fetch_many``. ``sleep`` and ``clock`` are injectable so tests can check waits without waiting."""

    def __init__(
        self,
        options: FetchOptions | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        **overrides: Any,
    ) -> None:
        try:
            import httpx
            import protego  # noqa: F401
        except ImportError as exc:
            raise MissingExtraError("fetching", "sources") from exc
        # Overrides give a copy, so one options object can serve several fetchers; unknown names raise TypeError.
        self.options = dataclasses.replace(options or FetchOptions(), **overrides)
        opts = self.options
        self._guard = _Guard(opts.allow_private_networks, tuple(ipaddress.ip_network(n) for n in opts.allowed_networks))
        self._sleep = sleep
        self._clock = clock
        self._gates: dict[str, _HostGate] = {}
        self._robots: dict[str, _Robots] = {}
        self._lock = threading.Lock()
        self._robots_locks: dict[str, threading.Lock] = {}
        self._client = httpx.Client(
            transport=_guarded_transport(self._guard, opts.verify_tls, opts.max_connections),
            follow_redirects=False,
            trust_env=False,
            timeout=httpx.Timeout(opts.read_timeout, connect=opts.connect_timeout),
            headers={"User-Agent": opts.user_agent, "Accept-Encoding": "gzip, deflate"},
        )

    # ---- public API

    def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str | None = None,
        allowed_content_types: tuple[str, ...] | None | bool = True,
    ) -> FetchResult:
        """GET ``url`` politely. ``etag``/``last_modified`` make it conditional (a 304 gives ``not_modified``).

        ``allowed_content_types=True`` uses the options' list; a tuple replaces it; None allows any type.
        """
        allowed = self.options.allowed_content_types if allowed_content_types is True else allowed_content_types
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        if accept:
            headers["Accept"] = accept
        result = self._fetch_following_redirects(url, headers)
        if result.ok and allowed is not None and result.content_type and result.content_type not in allowed:
            raise FetchError(f"{result.final_url}: unexpected content type {result.content_type!r}", url=result.final_url)
        return result

    def fetch_many(self, urls: Iterable[str], workers: int = 4, **kwargs: Any) -> Iterator[tuple[str, FetchResult | FetchError]]:
        """Fetch many URLs on ``workers`` threads (per-host limits still hold); yields (url, result or error)."""

        def one(url: str) -> tuple[str, FetchResult | FetchError]:
            try:
                return url, self.fetch(url, **kwargs)
            except FetchError as exc:
                return url, exc

        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            yield from pool.map(one, urls)

    def allowed_by_robots(self, url: str) -> bool:
        """Whether robots.txt of the URL's host lets our user agent fetch it (fetches robots.txt once per host)."""
        robots = self._robots_for(url)
        if robots.parser is None:
            return robots.allow_all
        return bool(robots.parser.can_fetch(url, self.options.user_agent))

    def robots_sitemaps(self, url: str) -> list[str]:
        """The ``Sitemap:`` URLs of the robots.txt of the URL's host."""
        return list(self._robots_for(url).sitemaps)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- redirects, robots, retries

    def _fetch_following_redirects(self, url: str, headers: dict[str, str]) -> FetchResult:
        current = url
        hops: list[str] = []
        while True:
            self._check_url(current)
            if self.options.obey_robots and not self.allowed_by_robots(current):
                raise RobotsDisallowedError(f"robots.txt disallows {current} for {self.options.user_agent!r}", url=current)
            result = self._fetch_with_retries(current, headers)
            if result.status not in _REDIRECT_STATUSES or "location" not in result.headers:
                result.url, result.redirects = url, hops
                return result
            if len(hops) >= self.options.max_redirects:
                raise FetchError(f"{url}: more than {self.options.max_redirects} redirects", url=url)
            target = _redirect_target(current, result.headers["location"])
            hops.append(target)
            current = target.split("#", 1)[0]

    def _check_url(self, url: str) -> None:
        host, port = _split_http_url(url)
        _resolve_checked(host, port, self._guard, socket.getaddrinfo)

    def _fetch_with_retries(self, url: str, headers: dict[str, str]) -> FetchResult:
        attempt = 0
        while True:
            try:
                result = self._fetch_once(url, headers)
            except FetchTimeoutError:
                if attempt >= self.options.max_retries:
                    raise
                self._sleep(self._backoff(attempt))
                attempt += 1
                continue
            if result.status not in _RETRY_STATUSES or attempt >= self.options.max_retries:
                return result
            wait = _retry_after_seconds(result.headers.get("retry-after"))
            if wait is None:
                wait = self._backoff(attempt)
            if wait > self.options.max_retry_wait:
                return result  # the server asks for longer than we wait: give the answer back to the caller
            self._sleep(wait)
            attempt += 1

    def _backoff(self, attempt: int) -> float:
        base = self.options.backoff_base * (2**attempt)
        return base + random.uniform(0, base / 4)  # jitter keeps parallel workers from retrying in lockstep

    # ---- one request

    def _fetch_once(self, url: str, headers: dict[str, str], *, max_body: int | None = None) -> FetchResult:
        import httpx

        host = urlsplit(url).hostname or ""
        opts = self.options
        limit = max_body if max_body is not None else opts.max_body_bytes
        with self._host_slot(host):
            deadline = self._clock() + opts.total_timeout
            try:
                with self._client.stream("GET", url, headers=headers) as response:
                    fetched_at = datetime.now(timezone.utc)
                    response_headers = {k.lower(): v for k, v in response.headers.items()}
                    if response.status_code in _REDIRECT_STATUSES or response.status_code == 304:
                        content = b""
                    else:
                        content = self._read_body(response, url, response_headers, limit, deadline)
            except httpx.TimeoutException as exc:
                raise FetchTimeoutError(f"{url}: timed out ({type(exc).__name__})", url=url) from exc
            except httpx.TooManyRedirects as exc:  # pragma: no cover - redirects are followed by hand
                raise FetchError(str(exc), url=url) from exc
            except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:
                raise FetchError(f"{url}: {type(exc).__name__}: {exc}", url=url) from exc
        return FetchResult(url, url, response.status_code, response_headers, content, fetched_at,
                           not_modified=response.status_code == 304)

    def _read_body(self, response: httpx.Response, url: str, headers: dict[str, str], limit: int,
                   deadline: float) -> bytes:
        declared = headers.get("content-length", "").strip()
        if declared.isdigit() and int(declared) > limit:
            raise ResponseTooLargeError(f"{url}: Content-Length {declared} is over the {limit}-byte limit", url=url)
        decoder = _BodyDecoder(headers.get("content-encoding", ""), self.options.max_decoded_bytes, url)
        received = 0
        for chunk in response.iter_raw():
            received += len(chunk)
            if received > limit:
                raise ResponseTooLargeError(f"{url}: body is over the {limit}-byte limit", url=url)
            if self._clock() > deadline:
                raise FetchTimeoutError(f"{url}: body not received within {self.options.total_timeout} s", url=url)
            decoder.feed(chunk)
        return decoder.finish()

    @contextmanager
    def _host_slot(self, host: str) -> Iterator[None]:
        with self._lock:
            gate = self._gates.setdefault(host, _HostGate(self.options.per_host_concurrency))
        gate.slots.acquire()
        try:
            with gate.lock:
                now = self._clock()
                wait = gate.next_start - now
                gate.next_start = max(now, gate.next_start) + max(self.options.per_host_delay, gate.delay)
            if wait > 0:
                self._sleep(wait)
            yield
        finally:
            gate.slots.release()

    def _robots_for(self, url: str) -> _Robots:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc.lower()}"
        with self._lock:
            lock = self._robots_locks.setdefault(origin, threading.Lock())
        with lock:  # one robots.txt fetch per origin even when many threads ask at once
            cached = self._robots.get(origin)
            if cached is not None and self._clock() - cached.fetched < cached.ttl:
                return cached
            robots = self._load_robots(origin)
            self._robots[origin] = robots
            host = parts.hostname or ""
            if robots.parser is not None:
                delay = robots.parser.crawl_delay(self.options.user_agent)
                if delay:
                    with self._lock:
                        gate = self._gates.setdefault(host, _HostGate(self.options.per_host_concurrency))
                    gate.delay = min(float(delay), _MAX_CRAWL_DELAY_SECONDS)
            return robots

    def _load_robots(self, origin: str) -> _Robots:
        from protego import Protego

        robots_url = origin + "/robots.txt"
        now = self._clock()
        try:
            result = self._fetch_robots_following_redirects(robots_url)
        except BlockedAddressError:
            raise
        except FetchError:
            # Unreachable: disallow for now (RFC 9309 section 2.3.1.4), and ask again soon.
            return _Robots(None, False, now, [], _ROBOTS_FAILURE_TTL_SECONDS)
        if 400 <= result.status < 500:
            return _Robots(None, True, now, [])
        if not result.ok:
            return _Robots(None, False, now, [], _ROBOTS_FAILURE_TTL_SECONDS)
        text = result.content[:_ROBOTS_MAX_BYTES].decode("utf-8", errors="replace")
        try:
            parser = Protego.parse(text)
        except Exception:  # noqa: BLE001 - protego on hostile input: treat as no rules, like an empty file
            return _Robots(None, True, now, [])
        return _Robots(parser, True, now, [s for s in parser.sitemaps if s.startswith(("http://", "https://"))])

    def _fetch_robots_following_redirects(self, url: str) -> FetchResult:
        current = url
        for _ in range(self.options.max_redirects + 1):
            self._check_url(current)
            result = self._fetch_with_retries_robots(current)
            if result.status not in _REDIRECT_STATUSES or "location" not in result.headers:
                return result
            current = _redirect_target(current, result.headers["location"])
        raise FetchError(f"{url}: too many redirects", url=url)

    def _fetch_with_retries_robots(self, url: str) -> FetchResult:
        # robots.txt is small and optional: one try, bounded size (a larger file is cut, like RFC 9309 allows).
        try:
            return self._fetch_once(url, {}, max_body=_ROBOTS_MAX_BYTES * 4)
        except ResponseTooLargeError:
            return FetchResult(url, url, 404, {}, b"", datetime.now(timezone.utc))


def _redirect_target(current: str, location: str) -> str:
    try:
        return urljoin(current, location.strip())
    except ValueError as exc:
        raise FetchError(f"{current}: redirect to an invalid URL {location[:200]!r}", url=current) from exc


def _retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


class _BodyDecoder:
    """Content-Encoding decoding with a cap on decoded bytes, fed one wire chunk at a time."""

    def __init__(self, content_encoding: str, max_decoded: int, url: str) -> None:
        codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip() and c.strip() != "identity"]
        for coding in codings:
            if coding not in ("gzip", "x-gzip", "deflate"):
                raise FetchError(f"{url}: unsupported Content-Encoding {coding!r}", url=url)
        # Decoders in reverse order of application; one or two layers are all real servers use.
        if len(codings) > 2:
            raise FetchError(f"{url}: too many Content-Encoding layers ({content_encoding})", url=url)
        self._codings = list(reversed(codings))
        self._stages = [self._new_stage(c) for c in self._codings]
        self._max = max_decoded
        self._url = url
        self._parts: list[bytes] = []
        self._size = 0

    @staticmethod
    def _new_stage(coding: str) -> Any:
        if coding in ("gzip", "x-gzip"):
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        return zlib.decompressobj()  # deflate: zlib-wrapped; a raw stream is retried below

    def feed(self, chunk: bytes) -> None:
        data = chunk
        for index, stage in enumerate(self._stages):
            data = self._decompress(index, stage, data)
        self._append(data)

    def _decompress(self, index: int, stage: Any, data: bytes) -> bytes:
        out: list[bytes] = []
        budget = self._max - self._size + 1
        try:
            piece = stage.decompress(data, budget)
            out.append(piece)
            budget -= len(piece)
            # Drain what max_length held back, still under the budget.
            while stage.unconsumed_tail and budget > 0:
                piece = stage.decompress(stage.unconsumed_tail, budget)
                out.append(piece)
                budget -= len(piece)
        except zlib.error as exc:
            if self._codings[index] == "deflate" and self._size == 0 and not out:
                self._stages[index] = zlib.decompressobj(-zlib.MAX_WBITS)  # servers that send raw deflate
                return self._decompress(index, self._stages[index], data)
            raise FetchError(f"{self._url}: body does not decode as {self._codings[index]} ({exc})", url=self._url) from exc
        if budget <= 0 or stage.unconsumed_tail:
            raise ResponseTooLargeError(f"{self._url}: decodes to over {self._max} bytes (decompression bomb?)",
                                        url=self._url)
        return b"".join(out)

    def _append(self, data: bytes) -> None:
        self._size += len(data)
        if self._size > self._max:
            raise ResponseTooLargeError(f"{self._url}: decodes to over {self._max} bytes", url=self._url)
        self._parts.append(data)

    def finish(self) -> bytes:
        for index, stage in enumerate(self._stages):
            if not stage.eof:
                raise FetchError(f"{self._url}: {self._codings[index]} body is truncated", url=self._url)
            tail = stage.flush()
            for later in self._stages[index + 1:]:
                tail = later.decompress(tail)
            self._append(tail)
        return b"".join(self._parts)
