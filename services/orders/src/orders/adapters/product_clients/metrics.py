"""Prometheus metrics of the product clients: the seam's series and the http client's own (ADR 0025)."""

from prometheus_client import Counter, Gauge

from seam import SeamMetrics

SEAM = SeamMetrics("orders", "product_client")
"""Calls, routing, shadow comparisons and the canary fallback, in every mode."""

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
