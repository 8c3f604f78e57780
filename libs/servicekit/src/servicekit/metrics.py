"""Prometheus metrics: HTTP latency per route, and the ``/metrics`` endpoint.

Metric objects are module-level because prometheus-client's registry is
process-global; the ``service`` label keeps two services in one process apart.
"""

import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HTTP_REQUEST_SECONDS = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency by service, method, route template and status",
    ["service", "method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
HTTP_REQUESTS = Counter(
    "http_requests_total", "HTTP requests by service and status class", ["service", "status_class"]
)


# Route object → its full template, found by matching once per route: matching the
# scope against every route again on each request cost as much as routing it.
# Each of our routers is included once, so a route has one template.
_TEMPLATES: dict[int, tuple[Any, str]] = {}


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    if route is not None:
        known = _TEMPLATES.get(id(route))
        if known is not None and known[0] is route:
            return known[1]
    template = _matched_template(scope)
    if route is not None and template != "<unmatched>":
        _TEMPLATES[id(route)] = (route, template)
    return template


def _matched_template(scope: Scope) -> str:
    app = scope.get("app")
    router = getattr(app, "router", None)
    for route in getattr(router, "routes", []):
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return str(getattr(route, "path", scope["path"]))
    return "<unmatched>"


class MetricsMiddleware:
    """Observe latency per route template (not raw path, to bound label cardinality)."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            route = _route_template(scope)
            HTTP_REQUEST_SECONDS.labels(self.service, scope["method"], route, str(status)).observe(
                time.perf_counter() - start
            )
            HTTP_REQUESTS.labels(self.service, f"{status // 100}xx").inc()


MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def prune_dead_workers(directory: Path) -> list[int]:
    """Drop the ``live*`` gauge files of worker processes that no longer exist.

    A worker that exits cleanly drops its own (``release_worker_gauges``); one that
    crashed or was killed leaves them, and ``livemax`` would show its last values
    until the whole service restarts. Returns the pids pruned.
    """
    pruned: list[int] = []
    for path in directory.glob("gauge_live*_*.db"):
        pid_text = path.stem.rsplit("_", 1)[1]
        if not pid_text.isdigit():
            continue
        pid = int(pid_text)
        if pid != os.getpid() and pid not in pruned and not _alive(pid):
            mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]
            pruned.append(pid)
    return pruned


def release_worker_gauges() -> None:
    """Multiprocess mode: drop this process's ``live*`` gauges (it is shutting down)."""
    directory = os.environ.get(MULTIPROC_DIR_ENV)
    if directory:
        mark_process_dead(os.getpid(), directory)  # type: ignore[no-untyped-call]


def release_gauges_on_shutdown(app: FastAPI) -> None:
    """Wrap ``app``'s lifespan so a worker's live gauges leave with it."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[Any]:
        try:
            async with inner(app) as state:
                yield state
        finally:
            release_worker_gauges()

    app.router.lifespan_context = lifespan


def metrics_router() -> APIRouter:
    """``GET /metrics`` in the Prometheus text format."""
    router = APIRouter(tags=["operations"])

    @router.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        directory = os.environ.get(MULTIPROC_DIR_ENV)
        if directory:
            # N workers (servicekit.serve): the sum of every worker's samples, without
            # the live gauges of workers that died.
            prune_dead_workers(Path(directory))
            registry = CollectorRegistry()
            MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router
