"""The web application: the reader (server-rendered HTML), Atom feeds and the JSON API over one store.

    create_app(store) -> FastAPI          uvicorn.run(create_app(store), host=..., port=...)

    /                      top stories, Trending, latest,      /api/articles            latest (limit, offset, site)
                           Popular, In the news
    /articles/{id}         one article, its story, Share/      /api/articles/{id}       one article
                           Subscribe, Related / More like this /api/articles/{id}/related  both lists, with reasons
                           (same story first) / Popular
    /stories, /stories/{id}  stories; one story: chart,        /api/stories, /api/stories/{id}, /api/trending
                           articles in time order, sources
    /search?q=             highlighted results                 /api/search?q=           hits with snippets
    /sites/{site}          one source's articles               /api/popular, /api/stats
    /feeds/latest.atom, /feeds/sites/{site}.atom, /feeds/stories/{id}.atom, /feeds/search.atom?q=
    /docs                  API reference (rendered here from /openapi.json: no CDN, no inline script)

Every response carries the security headers below: scripts only from our own /static (no inline script), so text
from an ingested page can never run, even if a template bug let it through unescaped. Errors have one JSON shape
under /api/ (``{"ok": false, "error": ..., "status": ...}``) and one HTML page elsewhere.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import __version__
from ..errors import InputError, MissingExtraError, NewsloomError, NotFoundError, QueryError
from ..store.base import Store
from . import api, pages, writes
from . import subscriptions_api
from .security import AccessSettings, install_access_control

__all__ = ["create_app", "SECURITY_HEADERS", "error_payload"]

log = logging.getLogger(__name__)

WEB_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    # The reader's address (often a private host) is nobody else's business: send no Referer to news sites.
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


class SecurityHeadersMiddleware:
    """Adds ``SECURITY_HEADERS`` to every HTTP response (a plain ASGI middleware: no body buffering)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._raw_headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in self._raw_headers if k not in present]
                message = {**message, "headers": list(message.get("headers", [])) + extra}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def make_templates() -> Jinja2Templates:
    """Jinja with autoescape on for every template (not only *.html) and strict undefined names."""
    environment = Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    pages.install_template_helpers(environment)
    return Jinja2Templates(env=environment)


# -- errors ------------------------------------------------------------------------------------------------------
def error_payload(message: str, status: int) -> dict[str, Any]:
    """The one JSON error shape of the API."""
    return {"ok": False, "error": message, "status": status}


def _status_for(exc: NewsloomError) -> int:
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, (QueryError, InputError)):
        return 400
    if isinstance(exc, MissingExtraError):
        return 501
    return 500


def _wants_json(request: Request) -> bool:
    path = request.url.path
    return path.startswith("/api/") or path == "/api" or path == "/openapi.json"


_STATUS_TITLES = {
    400: "Bad request",
    401: "Token needed",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    413: "Request too large",
    422: "Invalid request",
    429: "Too many requests",
    500: "Something went wrong",
    501: "Not available",
}


def _error_response(request: Request, status: int, message: str) -> Response:
    if _wants_json(request):
        return JSONResponse(error_payload(message, status), status_code=status)
    templates: Jinja2Templates = request.app.state.templates
    title = _STATUS_TITLES.get(status, "Error")
    try:
        return templates.TemplateResponse(
            request,
            "error.html",
            {"status": status, "title": title, "message": message, "query": "", "feeds": []},
            status_code=status,
        )
    except Exception:  # the error page itself failed: still answer, in plain text
        log.exception("the error page failed to render")
        return PlainTextResponse(f"{status} {title}: {message}\n", status_code=status)


def _validation_message(exc: RequestValidationError) -> str:
    problems = []
    for error in exc.errors():
        location = [str(part) for part in error.get("loc", ()) if part not in ("query", "path", "body")]
        where = error.get("loc", ("",))[0]
        name = ".".join(location) or "request"
        problems.append(f"{where} parameter '{name}': {error.get('msg', 'invalid')}" if where in ("query", "path")
                        else f"{name}: {error.get('msg', 'invalid')}")
    return "; ".join(problems) or "invalid request"


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = str(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            message = f"there is nothing at {request.url.path}"
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}"
        response = _error_response(request, exc.status_code, message)
        # Keep what the exception asked to send (WWW-Authenticate on 401, Retry-After on 429, Allow on 405).
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        return _error_response(request, 422, _validation_message(exc))

    @app.exception_handler(NewsloomError)
    async def newsloom_error(request: Request, exc: NewsloomError) -> Response:
        status = _status_for(exc)
        if status >= 500:
            log.error("store or server error on %s: %s", request.url.path, exc)
        return _error_response(request, status, str(exc))

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> Response:
        # Runs outside the middleware stack (Starlette's outermost layer), so the headers are added here.
        log.exception("unexpected error on %s", request.url.path)
        response = _error_response(request, 500, "internal server error")
        response.headers.update(SECURITY_HEADERS)
        return response


# -- the application -----------------------------------------------------------------------------------------------
def create_app(store: Store, api_token: str | None = None, *, access: AccessSettings | None = None) -> FastAPI:
    """The reader, feeds and JSON API over ``store``. The caller owns the store (and closes it after serving).
    Write endpoints need ``api_token`` (else NEWSLOOM_API_TOKEN); ``access`` sets every access rule (security.py)."""
    access = access or AccessSettings.from_env(api_token=api_token)
    app = FastAPI(
        title="newsloom",
        version=__version__,
        summary="Clean, deduplicated, connected news: the reader's JSON API.",
        description=(
            "Every error has one shape: {\"ok\": false, \"error\": \"<message>\", \"status\": <code>}. "
            "Articles are returned as newsloom Article records (dates in ISO 8601, null when unknown)."
        ),
        docs_url=None,  # FastAPI's Swagger page loads from a CDN with inline script; /docs is rendered by pages.py
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.store = store
    app.state.templates = make_templates()
    install_access_control(app, access, _error_response)  # inside the security headers: refusals get them too
    app.add_middleware(SecurityHeadersMiddleware)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    app.include_router(api.router)
    app.include_router(pages.router)
    app.include_router(writes.router)
    app.include_router(subscriptions_api.router)
    _install_error_handlers(app)
    return app
