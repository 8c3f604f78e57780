"""The seam's metric and span names, one set for every mode (ADR 0025)."""

from dataclasses import dataclass, field

from prometheus_client import Counter, Gauge, Histogram

CALL_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
DELTA_BUCKETS = (-1, -0.25, -0.1, -0.05, -0.025, -0.01, -0.005, -0.001, 0)
DELTA_BUCKETS += tuple(-bound for bound in reversed(DELTA_BUCKETS[:-1]))


@dataclass(frozen=True)
class SeamMetrics:
    """The series of one boundary (``{service}_{boundary}_*``) and its canary; one per process."""

    service: str
    boundary: str
    calls: Histogram = field(init=False)
    routed: Counter = field(init=False)
    shadow_comparisons: Counter = field(init=False)
    shadow_latency_delta: Histogram = field(init=False)
    canary_share: Gauge = field(init=False)
    fallback_active: Gauge = field(init=False)
    fallback_trips: Counter = field(init=False)
    window_error_rate: Gauge = field(init=False)
    window_p95: Gauge = field(init=False)

    def __post_init__(self) -> None:
        prefix = f"{self.service}_{self.boundary}"
        metrics = {
            "calls": Histogram(
                f"{prefix}_call_duration_seconds",
                f"{self.boundary} call latency (retries included) by mode, method and outcome",
                ["mode", "method", "outcome"],
                buckets=CALL_BUCKETS,
            ),
            "routed": Counter(
                f"{prefix}_routed_total",
                "Per-request client choices by run-time mode and the client that served"
                " (local, http, shadow)",
                ["mode", "client"],
            ),
            "shadow_comparisons": Counter(
                f"{prefix}_shadow_comparisons_total",
                "Shadow reads by method and result: match, settled (the answers differed and a"
                " re-read of both agreed: a race with a write), mismatch (every re-read still"
                " differed), candidate_error, candidate_timeout, skipped, sampled_out",
                ["method", "result"],
            ),
            "shadow_latency_delta": Histogram(
                f"{prefix}_shadow_latency_delta_seconds",
                "Candidate minus primary latency of shadowed reads (negative: candidate faster)",
                ["method"],
                buckets=DELTA_BUCKETS,
            ),
            # Per-process gauges; with several workers ``livemax`` shows the highest
            # among the live ones: the largest share still on http, the worst window.
            "canary_share": Gauge(
                f"{self.service}_flags_canary_share",
                "Percent of users this process routes to http: the canary share in canary mode,"
                " 100 in http mode, 0 in local and shadow modes and while the canary fallback"
                " holds; set on every flag refresh",
                multiprocess_mode="livemax",
            ),
            "fallback_active": Gauge(
                f"{self.service}_canary_fallback_active",
                "1 while the canary share was last set by the automatic fallback (or its write"
                " is pending)",
                multiprocess_mode="livemax",
            ),
            "fallback_trips": Counter(
                f"{self.service}_canary_fallback_trips_total",
                "Times the http path breached its thresholds and the canary fallback set the"
                " share to 0",
            ),
            "window_error_rate": Gauge(
                f"{self.service}_canary_http_window_error_rate",
                "Failures / calls of the routed http path over the fallback's window",
                multiprocess_mode="livemax",
            ),
            "window_p95": Gauge(
                f"{self.service}_canary_http_window_p95_seconds",
                "p95 latency of the routed http path over the fallback's window",
                multiprocess_mode="livemax",
            ),
        }
        for name, metric in metrics.items():
            object.__setattr__(self, name, metric)

    @property
    def span_prefix(self) -> str:
        """Spans are ``{boundary}.{method}``; attributes ``{boundary}.mode`` and so on."""
        return f"{self.boundary}."
