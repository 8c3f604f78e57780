"""An example boundary's /metrics, made by prometheus-client itself, and a server for it.

The exposition is produced by prometheus-client from a registry with the same metric
names, labels and buckets as the example boundary's ``SeamMetrics`` (so the parser
sees what a scrape of such a service returns), and served by a small HTTP server on a
free port. The method labels are a product client's; the report reads any.
"""

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from cutover.report.exposition import parse_exposition
from cutover.report.names import ReportNames, Subject
from cutover.report.verdict import Evidence, Status, Thresholds, judge
from seam import SeamMetrics
from seam.metrics import CALL_BUCKETS

EXAMPLE = SeamMetrics("example", "inventory")
"""Built once: prometheus-client's registry is process-global."""
UNAVAILABLE = "inventory_unavailable"
NAMES = ReportNames.of(EXAMPLE, {UNAVAILABLE, "error"})
SUBJECT = Subject(
    service="example",
    names=NAMES,
    flags_path="/admin/flags",
    mode_flag="inventory_client",
    example_url="http://example:8000",
    errors_help=(f"outcome {UNAVAILABLE} or error / all calls",),
)


@dataclass
class Traffic:
    """What a synthetic process observed; ``text()`` is its /metrics."""

    names: ReportNames = NAMES
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.calls = Histogram(
            self.names.calls,
            "calls",
            ["mode", "method", "outcome"],
            buckets=CALL_BUCKETS,
            registry=self.registry,
        )
        self.shadow = Counter(
            self.names.shadow,
            "shadow",
            ["method", "result"],
            registry=self.registry,
        )

    def call(
        self,
        mode: str,
        method: str,
        seconds: float,
        times: int = 1,
        outcome: str = "ok",
    ) -> "Traffic":
        for _ in range(times):
            self.calls.labels(mode, method, outcome).observe(seconds)
        return self

    def compared(self, method: str, result: str, times: int) -> "Traffic":
        self.shadow.labels(method, result).inc(times)
        return self

    def canary(self, *, share: float, fallback_active: bool, trips: int) -> "Traffic":
        names = self.names
        Gauge(names.canary_share, "share", registry=self.registry).set(share)
        Gauge(names.fallback_active, "active", registry=self.registry).set(
            1 if fallback_active else 0
        )
        self.trips = Counter(names.fallback_trips, "trips", registry=self.registry)
        self.trips.inc(trips)
        routed = Counter(names.routed, "routed", ["mode", "client"], registry=self.registry)
        routed.labels("canary", "http").inc(30)
        routed.labels("canary", "local").inc(70)
        return self

    def text(self) -> str:
        return generate_latest(self.registry).decode()


def healthy(names: ReportNames = NAMES) -> Traffic:
    """Shadow evidence and canary-mode calls a healthy http path produces."""
    return (
        Traffic(names)
        .compared("lookup_products", "match", 150)
        .compared("get_product", "match", 50)
        .compared("lookup_products", "sampled_out", 400)
        .call("local", "lookup_products", 0.002, 150)
        .call("local", "reserve", 0.008, 50)
        .call("http", "lookup_products", 0.004, 150)
        .call("http", "reserve", 0.02, 50)
        # A domain answer is the contract working, not an error.
        .call("http", "reserve", 0.02, 5, outcome="insufficient_stock")
    )


def verdict_of(traffic: Traffic, thresholds: Thresholds | None = None) -> dict[str, Status]:
    evidence = Evidence.of(parse_exposition(traffic.text()), NAMES)
    return {
        check.name: check.status for check in judge(evidence, thresholds or Thresholds()).checks
    }


@dataclass
class Served:
    """What the fake service answers: /metrics in turn, and the admin flags."""

    metrics: list[tuple[int, str]]
    flags: tuple[int, str] = (404, "{}")
    flags_path: str = SUBJECT.flags_path
    authorizations: list[str | None] = field(default_factory=list)

    def answer(self, path: str, authorization: str | None) -> tuple[int, str]:
        if path == "/metrics":
            return self.metrics.pop(0) if len(self.metrics) > 1 else self.metrics[0]
        if path == self.flags_path:
            self.authorizations.append(authorization)
            return self.flags
        return 404, "{}"


@contextmanager
def serving() -> Iterator[Callable[[Served], str]]:
    """Serve a ``Served`` on 127.0.0.1 (a free port the OS picks); its base URL."""
    servers: list[ThreadingHTTPServer] = []

    def start(served: Served) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, body = served.answer(self.path, self.headers.get("Authorization"))
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    try:
        yield start
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
