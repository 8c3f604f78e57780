"""Metric names the cut-over evidence reads, from the objects that export them (ADR 0018)."""

from prometheus_client.metrics import MetricWrapperBase

from orders.adapters.product_clients.boundary import FAILED_OUTCOMES
from orders.adapters.product_clients.metrics import SEAM

__all__ = [
    "CALLS",
    "CALLS_BUCKET",
    "CALLS_COUNT",
    "CANARY_SHARE",
    "FAILED_OUTCOMES",
    "FALLBACK_ACTIVE",
    "FALLBACK_TRIPS",
    "FALLBACK_TRIPS_TOTAL",
    "FAMILIES",
    "PROCESS_START",
    "ROUTED",
    "ROUTED_TOTAL",
    "SHADOW",
    "SHADOW_TOTAL",
    "WINDOW_ERROR_RATE",
    "WINDOW_P95",
]


def family(metric: MetricWrapperBase) -> str:
    """The metric's family name as a scrape's parser reports it (a counter's without ``_total``)."""
    return next(iter(metric.describe())).name


CALLS = family(SEAM.calls)
SHADOW = family(SEAM.shadow_comparisons)
CANARY_SHARE = family(SEAM.canary_share)
FALLBACK_ACTIVE = family(SEAM.fallback_active)
FALLBACK_TRIPS = family(SEAM.fallback_trips)
ROUTED = family(SEAM.routed)
WINDOW_ERROR_RATE = family(SEAM.window_error_rate)
WINDOW_P95 = family(SEAM.window_p95)

# Sample names: the exposition format's suffixes on a histogram's and a counter's family.
CALLS_BUCKET = f"{CALLS}_bucket"
CALLS_COUNT = f"{CALLS}_count"
SHADOW_TOTAL = f"{SHADOW}_total"
FALLBACK_TRIPS_TOTAL = f"{FALLBACK_TRIPS}_total"
ROUTED_TOTAL = f"{ROUTED}_total"

# prometheus-client's process collector builds this name inside collect(); it has no object.
PROCESS_START = "process_start_time_seconds"

FAMILIES = (CALLS, SHADOW, CANARY_SHARE, FALLBACK_ACTIVE, FALLBACK_TRIPS, ROUTED)
"""Every metric family the report reads (the dashboard reads these and the window gauges)."""
