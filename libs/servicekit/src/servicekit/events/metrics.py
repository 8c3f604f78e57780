"""Prometheus metrics of publishing and consuming integration events."""

from prometheus_client import Counter, Histogram

PUBLISH_SECONDS = Histogram(
    "events_publish_seconds",
    "Time from publishing an integration event to the broker's confirm",
    ["exchange"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5),
)
PUBLISHED = Counter(
    "events_published_total", "Integration events published, by outcome", ["exchange", "outcome"]
)
CONSUMED = Counter(
    "events_consumed_total",
    "Messages a consumer finished, by outcome (handled, retry, dead)",
    ["consumer", "outcome"],
)
CONSUMER_LAG_SECONDS = Histogram(
    "events_consumer_lag_seconds",
    "Time from an event occurring to a consumer finishing it",
    ["consumer"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600),
)
DEAD_LETTERS = Counter(
    "events_dead_letters_total",
    "Messages a consumer sent to its dead-letter queue, by reason",
    ["consumer", "reason"],
)
