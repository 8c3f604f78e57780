"""An event worker's one port: Prometheus ``/metrics``, and ``/health/ready`` that says whether it consumes."""

import threading
import time
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import make_wsgi_app

READY_PATH = "/health/ready"
"""Answers 200 while every consumer is attached and the event loop runs, else 503."""

BEAT_SECONDS = 1.0
"""How often the event loop records whether its consumers are attached."""

STALE_AFTER_SECONDS = 10.0
"""A beat older than this means the event loop is stuck: not consuming, whatever it last saw."""

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


class WorkerHealth:
    """What the event loop last saw, read by the HTTP server's threads.

    The loop writes two attributes each beat; a probe only reads them, so no lock
    is needed and no asyncio object is touched from another thread.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._consuming = False
        self._beat: float | None = None

    def beat(self, consuming: bool) -> None:
        """Called from the event loop: whether every consumer is attached now."""
        self._consuming, self._beat = consuming, self._clock()

    @property
    def ready(self) -> bool:
        """Consuming, as of a beat recent enough to trust."""
        beat = self._beat
        return self._consuming and beat is not None and self._clock() - beat <= STALE_AFTER_SECONDS


def worker_app(health: WorkerHealth) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    """WSGI app: the readiness route, and Prometheus's exposition for every other path."""
    metrics = make_wsgi_app()

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != READY_PATH:
            return metrics(environ, start_response)  # type: ignore[no-any-return]
        status, body = (
            ("200 OK", b"consuming\n")
            if health.ready
            else ("503 Service Unavailable", b"not consuming\n")
        )
        start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]

    return app


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Probes and scrapes every few seconds would flood the log."""


def start_worker_http(port: int, health: WorkerHealth, addr: str = "0.0.0.0") -> WSGIServer:  # noqa: S104 - probed and scraped
    """Serve ``worker_app`` on a daemon thread, as prometheus_client's own server does."""
    server = make_server(addr, port, worker_app(health), _Server, handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, name="worker-http", daemon=True).start()
    return server
