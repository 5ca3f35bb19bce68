"""The health and metrics HTTP server of a service (issue #10 item 9): `/healthz`, `/readyz`
and `/metrics` on `ALGO_HEALTH_HOST:ALGO_HEALTH_PORT` (loopback by default).

Why the standard library's `ThreadingHTTPServer` on its own thread: the trading loop must never
wait for a scrape or a slow readiness check, whatever the loop is (the engine's is synchronous
today; an asyncio loop would be stalled by a check that blocks). prometheus-client's own server
serves its metrics on every path and cannot add the two probes. Three endpoints of a few bytes
each need no framework.

Answers: GET or HEAD on the three paths; 404 for any other path, 405 (with `Allow`) for any
other method; a probe that raises is a failed check (503), and anything else that goes wrong
is a 500 with a one-line body, its traceback only in the log. A port that is taken is one
`HealthServerError` line naming the address and the setting to change.
"""

from __future__ import annotations

import errno
import json
import logging
import socket
import socketserver
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from algo_trading.domain.errors import AlgoTradingError
from algo_trading.services.health import Health

__all__ = ["HealthServer", "HealthServerError"]

log = logging.getLogger(__name__)

_ALLOWED = "GET, HEAD"
_REQUEST_TIMEOUT_S = 10.0  # a client that opens a connection and says nothing is dropped
_JOIN_TIMEOUT_S = 5.0
_POLL_S = 0.05  # how soon stop() is noticed; an idle wake-up 20 times a second costs nothing

_BIND_PROBLEMS = {
    errno.EADDRINUSE: "the port is already in use",
    errno.EACCES: "permission denied (a port below 1024 needs privileges)",
    errno.EADDRNOTAVAIL: "the address is not one of this machine's",
}


class HealthServerError(AlgoTradingError):
    """The health server cannot listen (port taken, address not ours) or was misused."""


class HealthServer:
    """Serves `health` and `registry` on `host:port` from a daemon thread.

    `port=0` takes a free port (read it back from `.port`). `start()` binds or raises
    `HealthServerError`; `stop()` closes the socket and joins the thread, and is safe to call
    twice. Usable as a context manager.
    """

    def __init__(
        self,
        health: Health,
        registry: CollectorRegistry,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self._health = health
        self._registry = registry
        self._host = host
        self._port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        """The port listened on (the one the system chose when asked for 0)."""
        if self._server is None:
            return self._port
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}"

    def start(self) -> HealthServer:
        if self._server is not None:
            raise HealthServerError(f"health server already listening on {self.url}")
        self._server = _bind(self._host, self._port, _handler_class(self._health, self._registry))
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": _POLL_S},
            name=f"health-server:{self.port}",
            daemon=True,
        )
        self._thread.start()
        log.info("health server listening", extra={"url": self.url})
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        port = self.port
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(_JOIN_TIMEOUT_S)
        self._server = self._thread = None
        log.info("health server stopped", extra={"port": port})

    def __enter__(self) -> HealthServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def server_bind(self) -> None:
        # HTTPServer's own looks the host up in DNS (getfqdn), which can hang a container's
        # start for seconds; the name is only used in CGI variables.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The default prints a traceback to stderr; a dropped connection is not worth one.
        log.debug("health request from %s failed", client_address, exc_info=True)


class _Server6(_Server):
    address_family = socket.AF_INET6


def _bind(host: str, port: int, handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    where = f"{host}:{port}" if ":" not in host else f"[{host}]:{port}"
    cls = _Server6 if ":" in host else _Server
    try:
        return cls((host, port), handler)
    except socket.gaierror as exc:
        problem = f"unknown host ({exc.strerror})"
    except OSError as exc:
        problem = _BIND_PROBLEMS.get(exc.errno or 0, exc.strerror or str(exc))
    except OverflowError:
        problem = "the port must be between 0 and 65535"
    raise HealthServerError(
        f"health server cannot listen on {where}: {problem} "
        "(set ALGO_HEALTH_PORT to a free port, or ALGO_HEALTH_HOST to an address of this machine)"
    ) from None


def _handler_class(health: Health, registry: CollectorRegistry) -> type[BaseHTTPRequestHandler]:
    class Handler(_HealthHandler):
        pass

    Handler.health = health
    Handler.registry = registry
    return Handler


class _HealthHandler(BaseHTTPRequestHandler):
    health: Health
    registry: CollectorRegistry
    server_version = "algo-trading-health"
    sys_version = ""
    timeout = _REQUEST_TIMEOUT_S
    # One request per connection: a scrape every few seconds gains nothing from keep-alive, and
    # a kept-alive connection would go on being served by its thread after stop().
    protocol_version = "HTTP/1.0"

    def do_GET(self) -> None:
        self._answer(head=False)

    def do_HEAD(self) -> None:
        self._answer(head=True)

    def __getattr__(self, name: str) -> Callable[[], None]:
        # http.server looks up `do_<METHOD>` and answers 501 when it is missing; every method
        # but GET and HEAD is a known one we refuse, so 405 with the allowed list.
        if name.startswith("do_"):
            return self._method_not_allowed
        raise AttributeError(name)

    def _method_not_allowed(self) -> None:
        self.close_connection = True  # its body, if any, is not read: do not parse it as a request
        self._send(
            HTTPStatus.METHOD_NOT_ALLOWED,
            _json({"error": "method not allowed"}),
            "application/json",
            head=False,
            extra={"Allow": _ALLOWED},
        )

    def _answer(self, *, head: bool) -> None:
        path = self.path.split("?", 1)[0]
        route = _ROUTES.get(path)
        if route is None:
            self._send(
                HTTPStatus.NOT_FOUND,
                _json({"error": f"no such path {path[:100]!r}"}),
                "application/json",
                head=head,
            )
            return
        try:
            status, body, content_type = route(self)
        except Exception:
            log.exception("health server: %s failed", path)
            status, body, content_type = (
                HTTPStatus.INTERNAL_SERVER_ERROR,
                _json({"error": "internal error; see the service's log"}),
                "application/json",
            )
        self._send(status, body, content_type, head=head)

    def _send(
        self,
        status: HTTPStatus,
        body: bytes,
        content_type: str,
        *,
        head: bool,
        extra: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # Malformed request lines and the like: a short JSON answer instead of an HTML page.
        self.close_connection = True
        if self.request_version == "HTTP/0.9":  # a garbled line: still answer with a status line
            self.request_version = "HTTP/1.0"
        try:
            status = HTTPStatus(code)
        except ValueError:
            status = HTTPStatus.BAD_REQUEST
        self._send(
            status,
            _json({"error": message or status.phrase}),
            "application/json",
            head=self.command == "HEAD",
        )

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("health server: " + format, *args)


def _healthz(handler: _HealthHandler) -> tuple[HTTPStatus, bytes, str]:
    live = handler.health.liveness()
    status = HTTPStatus.OK if live.alive else HTTPStatus.SERVICE_UNAVAILABLE
    return status, _json(live.body()), "application/json"


def _readyz(handler: _HealthHandler) -> tuple[HTTPStatus, bytes, str]:
    ready = handler.health.readiness()
    status = HTTPStatus.OK if ready.ready else HTTPStatus.SERVICE_UNAVAILABLE
    return status, _json(ready.body()), "application/json"


def _metrics(handler: _HealthHandler) -> tuple[HTTPStatus, bytes, str]:
    encoder, content_type = choose_encoder(handler.headers.get("Accept", ""))
    return HTTPStatus.OK, encoder(handler.registry), content_type


_ROUTES: dict[str, Callable[[_HealthHandler], tuple[HTTPStatus, bytes, str]]] = {
    "/healthz": _healthz,
    "/readyz": _readyz,
    "/metrics": _metrics,
}


def _json(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode() + b"\n"
