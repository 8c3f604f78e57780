"""Orders-specific Prometheus metrics (the registry is process-global, hence module level)."""

from prometheus_client import Counter, Gauge, Histogram

from orders.application.reconciler import ReconcileReport

OUTBOX_EVENTS = Counter(
    "orders_outbox_events_total",
    "Outbox rows processed by outcome (dispatched, retry, dead)",
    ["outcome"],
)
OUTBOX_LAG_SECONDS = Histogram(
    "orders_outbox_lag_seconds",
    "Time from an event being recorded to it being dispatched",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900),
)
OUTBOX_DEPTH = Gauge(
    "orders_outbox_depth", "Outbox rows not yet dispatched (pending), as of the last relay pass"
)
RECONCILED_ORDERS = Counter(
    "orders_reconciled_total", "Pending orders settled by the reconciler", ["outcome"]
)


def record_reconcile(report: ReconcileReport) -> ReconcileReport:
    """Count what a reconciler pass did."""
    RECONCILED_ORDERS.labels("confirmed").inc(report.confirmed)
    RECONCILED_ORDERS.labels("failed").inc(report.failed)
    RECONCILED_ORDERS.labels("deferred").inc(report.deferred)
    return report
