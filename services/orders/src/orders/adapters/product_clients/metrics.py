"""Prometheus metrics of the product clients (http, shadow, breaker, canary routing).

Metric objects live at module level because prometheus-client's registry is
process-global: defining them twice (one per client instance) would raise.
"""

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import Counter, Gauge, Histogram

from orders.adapters.product_clients.backpressure import BulkheadFull
from shop_contracts.errors import DomainError

PRODUCT_CLIENT_CALL_SECONDS = Histogram(
    "orders_product_client_call_duration_seconds",
    "Product client call latency (retries included) by mode, method and outcome",
    ["mode", "method", "outcome"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
PRODUCT_CLIENT_RETRIES = Counter(
    "orders_product_client_retries_total",
    "Retried attempts of HTTP product client calls by method and reason",
    ["method", "reason"],
)
BREAKER_STATE = Gauge(
    "orders_product_client_breaker_state",
    "Circuit breaker state: 0 closed, 1 open, 2 half-open",
    ["breaker"],
)
BREAKER_TRANSITIONS = Counter(
    "orders_product_client_breaker_transitions_total",
    "Circuit breaker state changes by the state entered",
    ["breaker", "state"],
)
BULKHEAD_IN_FLIGHT = Gauge(
    "orders_product_client_bulkhead_in_flight",
    "HTTP product client calls holding a bulkhead slot",
    multiprocess_mode="livesum",
)
BULKHEAD_WAITING = Gauge(
    "orders_product_client_bulkhead_waiting",
    "HTTP product client calls waiting for a bulkhead slot",
    multiprocess_mode="livesum",
)
BULKHEAD_LIMIT = Gauge(
    "orders_product_client_bulkhead_limit",
    "Calls to products allowed in flight now (the adaptive concurrency limit)",
    multiprocess_mode="livesum",
)
BULKHEAD_REJECTED = Counter(
    "orders_product_client_bulkhead_rejected_total",
    "HTTP product client calls refused because no bulkhead slot freed up in time",
)
SHADOW_COMPARISONS = Counter(
    "orders_product_client_shadow_comparisons_total",
    "Shadow reads by method and result: match, settled (the answers differed and a"
    " re-read of both agreed: a race with a write), mismatch (every re-read still"
    " differed), candidate_error, candidate_timeout, skipped, sampled_out",
    ["method", "result"],
)
SHADOW_LATENCY_DELTA_SECONDS = Histogram(
    "orders_product_client_shadow_latency_delta_seconds",
    "Candidate minus primary latency of shadowed reads (negative: candidate faster)",
    ["method"],
    buckets=(
        -1,
        -0.25,
        -0.1,
        -0.05,
        -0.025,
        -0.01,
        -0.005,
        -0.001,
        0,
        0.001,
        0.005,
        0.01,
        0.025,
        0.05,
        0.1,
        0.25,
        1,
    ),
)

# Gauges below are per process; with several workers (prometheus multiprocess)
# ``livemax`` shows the highest value among the live workers: the largest share
# still routed to http, and the worst window any worker judges.
ROUTED = Counter(
    "orders_product_client_routed_total",
    "Per-request product client choices by run-time mode (the products_client flag) and"
    " the client that served (local, http, shadow)",
    ["mode", "client"],
)
CANARY_SHARE = Gauge(
    "orders_flags_canary_share",
    "Percent of users this process routes to http: the canary share in canary mode, 100 in"
    " http mode, 0 in local and shadow modes and while the canary fallback holds; set on"
    " every flag refresh",
    multiprocess_mode="livemax",
)
CANARY_FALLBACK_ACTIVE = Gauge(
    "orders_canary_fallback_active",
    "1 while the canary share was last set by the automatic fallback (or its write is pending)",
    multiprocess_mode="livemax",
)
CANARY_FALLBACK_TRIPS = Counter(
    "orders_canary_fallback_trips_total",
    "Times the http path breached its thresholds and the canary fallback set the share to 0",
)
CANARY_HTTP_WINDOW_ERROR_RATE = Gauge(
    "orders_canary_http_window_error_rate",
    "Failures / calls of the routed http path over the fallback's window",
    multiprocess_mode="livemax",
)
CANARY_HTTP_WINDOW_P95_SECONDS = Gauge(
    "orders_canary_http_window_p95_seconds",
    "p95 latency of the routed http path over the fallback's window",
    multiprocess_mode="livemax",
)


QUEUE_FULL = "queue_full"


def outcome_of(exc: BaseException | None) -> str:
    """A bounded label for how a call ended: ``ok``, a problem code, ``queue_full`` or ``error``.

    ``queue_full`` is orders' own bulkhead refusing the call (``BulkheadFull``):
    the caller sees ``products_unavailable``, but products was never asked, so
    the cut-over report does not count it against products.
    """
    if exc is None:
        return "ok"
    if isinstance(exc, BulkheadFull):
        return QUEUE_FULL
    if isinstance(exc, DomainError):
        return exc.code.value
    return "error"


@contextmanager
def observe_call(mode: str, method: str) -> Iterator[None]:
    """Record one product client call's latency under its outcome."""
    start = time.perf_counter()
    error: BaseException | None = None
    try:
        yield
    except BaseException as exc:
        error = exc
        raise
    finally:
        outcome = "cancelled" if isinstance(error, asyncio.CancelledError) else outcome_of(error)
        PRODUCT_CLIENT_CALL_SECONDS.labels(mode, method, outcome).observe(
            time.perf_counter() - start
        )
