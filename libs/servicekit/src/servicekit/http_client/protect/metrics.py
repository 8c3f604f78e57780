"""The series of a protected remote: its breaker and its bulkhead (``{service}_{boundary}_*``)."""

from dataclasses import dataclass, field

from prometheus_client import Counter, Gauge


@dataclass(frozen=True)
class ProtectionMetrics:
    """The breaker's and the bulkhead's series towards one remote; one per process."""

    service: str
    boundary: str
    remote: str = ""  # the remote side's name in help texts (the boundary's when empty)
    breaker_state: Gauge = field(init=False)
    breaker_transitions: Counter = field(init=False)
    bulkhead_in_flight: Gauge = field(init=False)
    bulkhead_waiting: Gauge = field(init=False)
    bulkhead_limit: Gauge = field(init=False)
    bulkhead_rejected: Counter = field(init=False)

    def __post_init__(self) -> None:
        prefix = f"{self.service}_{self.boundary}"
        calls = f"HTTP {self.boundary.replace('_', ' ')} calls"
        metrics = {
            "breaker_state": Gauge(
                f"{prefix}_breaker_state",
                "Circuit breaker state: 0 closed, 1 open, 2 half-open",
                ["breaker"],
            ),
            "breaker_transitions": Counter(
                f"{prefix}_breaker_transitions_total",
                "Circuit breaker state changes by the state entered",
                ["breaker", "state"],
            ),
            "bulkhead_in_flight": Gauge(
                f"{prefix}_bulkhead_in_flight",
                f"{calls} holding a bulkhead slot",
                multiprocess_mode="livesum",
            ),
            "bulkhead_waiting": Gauge(
                f"{prefix}_bulkhead_waiting",
                f"{calls} waiting for a bulkhead slot",
                multiprocess_mode="livesum",
            ),
            "bulkhead_limit": Gauge(
                f"{prefix}_bulkhead_limit",
                f"Calls to {self.remote or self.boundary} allowed in flight now"
                " (the adaptive concurrency limit)",
                multiprocess_mode="livesum",
            ),
            "bulkhead_rejected": Counter(
                f"{prefix}_bulkhead_rejected_total",
                f"{calls} refused because no bulkhead slot freed up in time",
            ),
        }
        for name, metric in metrics.items():
            object.__setattr__(self, name, metric)
