"""Orders-specific Prometheus metrics (the registry is process-global, hence module level)."""

from prometheus_client import Counter

from orders.application.reconciler import ReconcileReport
from servicekit.outbox.metrics import outbox_metrics

OUTBOX = outbox_metrics("orders")
RECONCILED_ORDERS = Counter(
    "orders_reconciled_total", "Pending orders settled by the reconciler", ["outcome"]
)


def record_reconcile(report: ReconcileReport) -> ReconcileReport:
    """Count what a reconciler pass did."""
    RECONCILED_ORDERS.labels("confirmed").inc(report.confirmed)
    RECONCILED_ORDERS.labels("failed").inc(report.failed)
    RECONCILED_ORDERS.labels("deferred").inc(report.deferred)
    return report
