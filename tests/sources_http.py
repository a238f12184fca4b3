"""A real HTTP server on 127.0.0.1 for the source tests (feeds, sitemaps, discovery, fetching).

Routes are plain data: path -> Route(status, headers, body, delay...). The server runs in a daemon thread, records
every request it receives (path and headers) so tests can assert what was, or was not, sent, and stops at the end.
Only the loopback address is ever used.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before the answer
    drip: float = 0.0  # seconds between body chunks of 1 KiB (a slow server)
    omit_length: bool = False  # no Content-Length: the body runs until the connection closes
    # Called with the request headers; returns a Route to answer with instead (conditional GET, retries...).
    dynamic: Callable[[dict[str, str]], Route] | None = None


@dataclass
class Seen:
    path: str
    headers: dict[str, str]


class LocalServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.seen: list[Seen] = []
        self._server: ThreadingHTTPServer | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def paths_seen(self) -> list[str]:
        return [s.path for s in self.seen]

    def start(self) -> None:
        server_state = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep pytest output clean
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server naming
                headers = {k.lower(): v for k, v in self.headers.items()}
                server_state.seen.append(Seen(self.path, headers))
                route = server_state.routes.get(self.path) or Route(404, b"not found")
                if route.dynamic is not None:
                    route = route.dynamic(headers)
                if route.delay:
                    time.sleep(route.delay)
                try:
                    self.send_response(route.status)
                    sent = {k.lower() for k in route.headers}
                    for name, value in route.headers.items():
                        self.send_header(name, value)
                    if route.omit_length:
                        self.send_header("Connection", "close")
                        self.close_connection = True
                    elif "content-length" not in sent:
                        self.send_header("Content-Length", str(len(route.body)))
                    self.end_headers()
                    if route.drip:
                        for start in range(0, len(route.body), 1024):
                            self.wfile.write(route.body[start:start + 1024])
                            self.wfile.flush()
                            time.sleep(route.drip)
                    else:
                        self.wfile.write(route.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client stopped reading on purpose (size limits, timeouts)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


@contextmanager
def local_server() -> Iterator[LocalServer]:
    server = LocalServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
