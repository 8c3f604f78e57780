"""An outbox's metrics, named after the service that owns it (``<prefix>_outbox_*``)."""

from dataclasses import dataclass

from prometheus_client import Counter, Gauge, Histogram


@dataclass(frozen=True, slots=True)
class OutboxMetrics:
    """Rows processed by outcome, their lag, and the pending backlog."""

    events: Counter
    lag_seconds: Histogram
    depth: Gauge


def outbox_metrics(prefix: str) -> OutboxMetrics:
    """Register ``<prefix>_outbox_events_total``, ``_lag_seconds`` and ``_depth`` (once a process)."""
    return OutboxMetrics(
        events=Counter(
            f"{prefix}_outbox_events_total",
            "Outbox rows processed by outcome (dispatched, retry, dead)",
            ["outcome"],
        ),
        lag_seconds=Histogram(
            f"{prefix}_outbox_lag_seconds",
            "Time from an event being recorded to it being dispatched",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900),
        ),
        depth=Gauge(
            f"{prefix}_outbox_depth",
            "Outbox rows not yet dispatched (pending), as of the last relay pass",
        ),
    )
