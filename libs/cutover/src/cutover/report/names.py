"""What the report reads of a service: its boundary's metric names, from the ``SeamMetrics``."""

from collections.abc import Collection
from dataclasses import dataclass

from prometheus_client.metrics import MetricWrapperBase

from seam import SeamMetrics

# prometheus-client's process collector builds this name inside collect(); it has no object.
PROCESS_START = "process_start_time_seconds"


def family(metric: MetricWrapperBase) -> str:
    """The metric's family name as a scrape's parser reports it (a counter's without ``_total``)."""
    return next(iter(metric.describe())).name


@dataclass(frozen=True)
class ReportNames:
    """The metric families the report reads, and the call outcomes that count as failures."""

    calls: str
    shadow: str
    canary_share: str
    fallback_active: str
    fallback_trips: str
    routed: str
    window_error_rate: str
    window_p95: str
    # Outcomes that count against the http path (the fallback's); domain answers do not.
    failed_outcomes: frozenset[str]

    @classmethod
    def of(cls, metrics: SeamMetrics, failed_outcomes: Collection[str]) -> "ReportNames":
        """The names of the series ``metrics`` exports."""
        return cls(
            calls=family(metrics.calls),
            shadow=family(metrics.shadow_comparisons),
            canary_share=family(metrics.canary_share),
            fallback_active=family(metrics.fallback_active),
            fallback_trips=family(metrics.fallback_trips),
            routed=family(metrics.routed),
            window_error_rate=family(metrics.window_error_rate),
            window_p95=family(metrics.window_p95),
            failed_outcomes=frozenset(failed_outcomes),
        )

    # Sample names: the exposition format's suffixes on a histogram's and a counter's family.
    @property
    def calls_bucket(self) -> str:
        """The call histogram's buckets."""
        return f"{self.calls}_bucket"

    @property
    def calls_count(self) -> str:
        """The call histogram's counts."""
        return f"{self.calls}_count"

    @property
    def shadow_total(self) -> str:
        """The shadow comparisons' counter."""
        return f"{self.shadow}_total"

    @property
    def fallback_trips_total(self) -> str:
        """The fallback trips' counter."""
        return f"{self.fallback_trips}_total"

    @property
    def routed_total(self) -> str:
        """The routing decisions' counter."""
        return f"{self.routed}_total"

    @property
    def failed(self) -> tuple[str, ...]:
        """The failed outcomes in the order the report names them."""
        return tuple(sorted(self.failed_outcomes, reverse=True))

    @property
    def families(self) -> tuple[str, ...]:
        """Every metric family the report reads (a dashboard reads these and the window gauges)."""
        return (
            self.calls,
            self.shadow,
            self.canary_share,
            self.fallback_active,
            self.fallback_trips,
            self.routed,
        )


@dataclass(frozen=True)
class Subject:
    """The service a report judges: the names it reads, and how the report speaks of it."""

    service: str  # "not an orders service", "summed over 2 orders process(es)"
    names: ReportNames
    flags_path: str  # the admin flags endpoint ``--token`` reads
    # The seam's mode flag (``FlagNames.mode``): the flags body lists the modes it may
    # take under ``choosable_<mode_flag>s``.
    mode_flag: str
    example_url: str  # a process's base URL in ``--url``'s help
    # The help's explanation of the error rate, one line each (what counts as an error).
    errors_help: tuple[str, ...]

    @property
    def a_service(self) -> str:
        """``an orders service``, ``a payments service``."""
        return f"{'an' if self.service[:1].lower() in 'aeiou' else 'a'} {self.service} service"
