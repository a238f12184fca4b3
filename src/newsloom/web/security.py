"""Access control for the web application: who may write, how much a request may send, how often a client may ask.

    AccessSettings.from_env(api_token=None)   NEWSLOOM_API_TOKEN, NEWSLOOM_MAX_BODY_BYTES, NEWSLOOM_RATE_LIMIT,
                                              NEWSLOOM_RATE_BURST (explicit arguments win over the environment)
    install_access_control(app, settings, error_response)   the middleware below, settings in app.state.access
    require_write_token                       FastAPI dependency for every write endpoint (see writes.py)

The rules:

* Reading is open: pages, feeds and GET /api/... need nothing.
* Writing (ingest, sources, subscriptions, admin) needs the token set in configuration, sent as
  ``Authorization: Bearer <token>`` (or ``X-API-Token``). With no token configured, writes are switched off (403):
  a server nobody configured is read-only, never open.
* A request body over ``max_body_bytes`` is refused with 413 before the application reads it (by Content-Length),
  or as soon as the streamed bytes pass the limit (chunked bodies).
* Each client (its address as the ASGI server reports it) has a token bucket: ``rate_per_minute`` sustained,
  ``burst`` at once; past it, 429 with Retry-After. Only ``max_clients`` buckets are kept (least recently seen
  dropped first), so a flood of addresses cannot grow memory without bound. Behind a reverse proxy, run uvicorn with
  ``--proxy-headers --forwarded-allow-ips=<proxy>`` so the client address is the reader's, not the proxy's.

Every refusal goes through the application's own error path (``error_response`` from app.py), so it has the one
JSON error shape under /api/ (``{"ok": false, "error": ..., "status": ...}``) and the HTML error page elsewhere.
"""

from __future__ import annotations

import hmac
import logging
import math
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import InputError

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_RATE_BURST",
    "DEFAULT_RATE_PER_MINUTE",
    "MIN_TOKEN_LENGTH",
    "AccessMiddleware",
    "AccessSettings",
    "BodyTooLargeError",
    "RateLimiter",
    "install_access_control",
    "require_write_token",
]

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
# A person reading pages asks for a few resources a second at most; feed readers and scripts poll far less.
DEFAULT_RATE_PER_MINUTE = 600
DEFAULT_RATE_BURST = 120
DEFAULT_MAX_CLIENTS = 10_000
# A shorter token can be guessed by trying; refuse it rather than run a server that only looks protected.
MIN_TOKEN_LENGTH = 16

ErrorResponder = Callable[[Request, int, str], Response]


@dataclass(frozen=True, slots=True)
class AccessSettings:
    """Access rules of one application. ``rate_per_minute=0`` turns rate limiting off."""

    api_token: str | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    rate_per_minute: int = DEFAULT_RATE_PER_MINUTE
    burst: int = DEFAULT_RATE_BURST
    max_clients: int = DEFAULT_MAX_CLIENTS

    def __post_init__(self) -> None:
        if self.api_token is not None and len(self.api_token) < MIN_TOKEN_LENGTH:
            raise InputError(f"the API token must be at least {MIN_TOKEN_LENGTH} characters long")
        for name in ("max_body_bytes", "rate_per_minute", "burst", "max_clients"):
            if getattr(self, name) < 0:
                raise InputError(f"access setting {name} must not be negative")

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, api_token: str | None = None, **overrides: int
    ) -> AccessSettings:
        """Settings from the environment; ``api_token`` and ``overrides`` (field names) win over it."""
        env = os.environ if environ is None else environ
        settings = cls(
            api_token=api_token or env.get("NEWSLOOM_API_TOKEN") or None,
            max_body_bytes=_env_int(env, "NEWSLOOM_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES),
            rate_per_minute=_env_int(env, "NEWSLOOM_RATE_LIMIT", DEFAULT_RATE_PER_MINUTE),
            burst=_env_int(env, "NEWSLOOM_RATE_BURST", DEFAULT_RATE_BURST),
        )
        return replace(settings, **overrides) if overrides else settings


def _env_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise InputError(f"{name}={raw!r} is not a whole number") from None


# -- rate limiting -------------------------------------------------------------------------------------------------
class RateLimiter:
    """Token buckets per client key: ``per_minute`` sustained, ``burst`` at once. Thread-safe."""

    def __init__(self, per_minute: int, burst: int, max_clients: int = DEFAULT_MAX_CLIENTS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate_per_second = per_minute / 60.0
        self.capacity = float(max(burst, 1))
        self.max_clients = max(max_clients, 1)
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, last refill time)
        self._lock = threading.Lock()

    def acquire(self, key: str) -> float | None:
        """Take one token for ``key``: None when allowed, else the seconds until one is available."""
        now = self._clock()
        with self._lock:
            tokens, then = self._buckets.pop(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - then) * self.rate_per_second)
            allowed = tokens >= 1.0
            if allowed:
                tokens -= 1.0
            self._buckets[key] = (tokens, now)  # re-inserted last: the most recently seen client
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
        if allowed:
            return None
        return (1.0 - tokens) / self.rate_per_second if self.rate_per_second > 0 else math.inf


# -- body size and the middleware ----------------------------------------------------------------------------------
class BodyTooLargeError(StarletteHTTPException):
    """Raised from ``receive`` when a streamed body passes the limit. It is an HTTPException so FastAPI lets it
    through its body parsing unchanged and the application's handler answers 413 in the one error shape."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is over the {limit}-byte limit")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _client_key(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class AccessMiddleware:
    """Per-client rate limit and request body size limit, as a plain ASGI middleware (no buffering)."""

    def __init__(self, app: ASGIApp, settings: AccessSettings, error_response: ErrorResponder) -> None:
        self.app = app
        self.settings = settings
        self.error_response = error_response
        self.limiter = RateLimiter(settings.rate_per_minute, settings.burst, settings.max_clients) \
            if settings.rate_per_minute > 0 else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.limiter is not None:
            wait = self.limiter.acquire(_client_key(scope))
            if wait is not None:
                retry_after = str(max(1, math.ceil(min(wait, 3600))))
                message = f"too many requests from this client; retry in {retry_after} s"
                await self._refuse(scope, receive, send, 429, message, {"Retry-After": retry_after})
                return
        limit = self.settings.max_body_bytes
        declared = _header(scope, b"content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                await self._refuse(scope, receive, send, 400, "the Content-Length header is not a number")
                return
            if int(declared) > limit:
                await self._refuse(scope, receive, send, 413, f"the request body is over the {limit}-byte limit")
                return
        await self._call_with_body_limit(scope, receive, send, limit)

    async def _call_with_body_limit(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLargeError(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLargeError as exc:  # read outside a route (no handler ran): answer here if we still can
            if started:
                raise
            await self._refuse(scope, receive, send, 413, str(exc.detail))

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, status: int, message: str,
                      headers: Mapping[str, str] | None = None) -> None:
        response = self.error_response(Request(scope, receive), status, message)
        if headers:
            response.headers.update(headers)
        await response(scope, receive, send)


def install_access_control(app: FastAPI, settings: AccessSettings, error_response: ErrorResponder) -> None:
    """Keep ``settings`` in ``app.state.access`` and add the middleware. Call it before the security-headers
    middleware is added, so refusals get those headers too."""
    app.state.access = settings
    app.add_middleware(AccessMiddleware, settings=settings, error_response=error_response)
    if settings.api_token is None:
        log.info("no API token configured (NEWSLOOM_API_TOKEN): write endpoints are switched off")


# -- the write token -----------------------------------------------------------------------------------------------
def _supplied_token(request: Request) -> str | None:
    authorization = request.headers.get("authorization", "")
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return request.headers.get("x-api-token") or None


# RFC 6750: a 401 names the scheme the client should use.
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="newsloom"'}


def require_write_token(request: Request) -> None:
    """FastAPI dependency of every write endpoint: 403 when writes are off, 401 without the right token."""
    settings: AccessSettings = request.app.state.access
    if not settings.api_token:
        raise StarletteHTTPException(
            403, "writes are switched off on this server: set NEWSLOOM_API_TOKEN to enable them")
    supplied = _supplied_token(request)
    if supplied is None:
        raise StarletteHTTPException(
            401, "this endpoint needs the API token: send 'Authorization: Bearer <token>'", headers=_CHALLENGE
        )
    # Compared in constant time, so the answer's timing says nothing about how much of a guess was right.
    if not hmac.compare_digest(supplied.encode("utf-8"), settings.api_token.encode("utf-8")):
        raise StarletteHTTPException(401, "the API token is not valid", headers=_CHALLENGE)
