"""The cut-over figures, computed from a ``Snapshot`` of a service's ``/metrics`` (ADR 0018)."""

import math
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from cutover.report.exposition import Snapshot, histogram_quantile
from cutover.report.names import ReportNames
from seam import Mode

PERCENTILES = (0.5, 0.95, 0.99)
HTTP = Mode.HTTP.value
LOCAL = Mode.LOCAL.value
SHADOW_MODE = Mode.SHADOW.value


@dataclass(frozen=True)
class Latency:
    """Calls of one mode (over some methods) and their estimated percentiles."""

    calls: int
    percentiles: Mapping[float, float | None]


def latency(
    snapshot: Snapshot,
    names: ReportNames,
    modes: str | Collection[str],
    methods: Iterable[str] | None = None,
) -> Latency:
    """``histogram_quantile(q, sum by (le) (calls{mode=~modes,method=~methods}))`` for each q."""
    chosen = {modes} if isinstance(modes, str) else set(modes)
    wanted = None if methods is None else set(methods)
    by_bound: dict[float, float] = {}
    for labels, value in snapshot.series(names.calls_bucket):
        if labels.get("mode") not in chosen or (
            wanted is not None and labels.get("method") not in wanted
        ):
            continue
        bound = float(labels["le"])
        by_bound[bound] = by_bound.get(bound, 0.0) + value
    calls = int(by_bound.get(math.inf, 0.0))
    return Latency(
        calls, {q: histogram_quantile(q, by_bound.items()) if calls else None for q in PERCENTILES}
    )


def call_counts(snapshot: Snapshot, names: ReportNames) -> dict[str, dict[str, dict[str, int]]]:
    """mode → method → outcome → calls."""
    counts: dict[str, dict[str, dict[str, int]]] = {}
    for labels, value in snapshot.series(names.calls_count):
        by_method = counts.setdefault(labels.get("mode", ""), {})
        by_outcome = by_method.setdefault(labels.get("method", ""), {})
        outcome = labels.get("outcome", "")
        by_outcome[outcome] = by_outcome.get(outcome, 0) + int(value)
    return counts


def _calls_by_method(
    counts: Mapping[str, Mapping[str, Mapping[str, int]]], modes: Iterable[str]
) -> set[str]:
    return {
        method
        for mode in modes
        for method, outcomes in counts.get(mode, {}).items()
        if sum(outcomes.values())
    }


def local_series(snapshot: Snapshot, names: ReportNames) -> tuple[str, ...]:
    """The series that together stand for the local path: those of ``local`` and ``shadow``.

    ``mode="local"`` is the local client's own calls (local and canary run-time
    modes, and background work). In shadow mode the local client answers as the
    shadow client's primary, recorded once, under ``mode="shadow"`` (the http
    candidate is ``mode="http"``); so both series time the local path, without
    counting a call twice.
    """
    counts = call_counts(snapshot, names)
    found = tuple(mode for mode in (LOCAL, SHADOW_MODE) if _calls_by_method(counts, [mode]))
    return found or (LOCAL,)


@dataclass(frozen=True)
class LatencyComparison:
    """http against the local path, overall and per method; ratios are http / local."""

    local_series: tuple[str, ...]
    common_methods: tuple[str, ...]
    http: Latency
    local: Latency
    ratios: Mapping[float, float | None]
    by_method: Mapping[str, tuple[Latency, Latency, Mapping[float, float | None]]]


def _ratios(http: Latency, local: Latency) -> dict[float, float | None]:
    ratios: dict[float, float | None] = {}
    for q in PERCENTILES:
        numerator, denominator = http.percentiles.get(q), local.percentiles.get(q)
        ratios[q] = (
            numerator / denominator
            if numerator is not None and denominator is not None and denominator > 0
            else None
        )
    return ratios


def compare_latency(snapshot: Snapshot, names: ReportNames) -> LatencyComparison:
    """Overall figures use only the methods both paths served (like with like).

    In shadow mode the http path sees mirrored reads only while the local path
    also does the writes; comparing all of both would compare different work.
    """
    reference = local_series(snapshot, names)
    counts = call_counts(snapshot, names)
    http_methods = _calls_by_method(counts, [HTTP])
    local_methods = _calls_by_method(counts, reference)
    common = tuple(sorted(http_methods & local_methods))
    http = latency(snapshot, names, HTTP, common)
    local = latency(snapshot, names, reference, common)
    by_method = {}
    for method in sorted(http_methods | local_methods):
        method_http = latency(snapshot, names, HTTP, [method])
        method_local = latency(snapshot, names, reference, [method])
        by_method[method] = (method_http, method_local, _ratios(method_http, method_local))
    return LatencyComparison(reference, common, http, local, _ratios(http, local), by_method)


@dataclass(frozen=True)
class ErrorRate:
    """Calls of one mode that failed (an outcome of ``ReportNames.failed_outcomes``)."""

    calls: int
    errors: int
    cancelled: int

    @property
    def rate(self) -> float | None:
        """errors / calls, ``None`` without calls."""
        return self.errors / self.calls if self.calls else None


def error_rates(snapshot: Snapshot, names: ReportNames) -> dict[str, ErrorRate]:
    """mode → its error rate over every method."""
    rates = {}
    for mode, by_method in sorted(call_counts(snapshot, names).items()):
        calls = errors = cancelled = 0
        for outcomes in by_method.values():
            for outcome, count in outcomes.items():
                calls += count
                # Domain answers are the contract working: the fallback's failures are these.
                errors += count if outcome in names.failed_outcomes else 0
                cancelled += count if outcome == "cancelled" else 0
        if calls:
            rates[mode] = ErrorRate(calls, errors, cancelled)
    return rates


@dataclass(frozen=True)
class ShadowCounts:
    """Shadow comparison results of one method (or all of them)."""

    match: int = 0
    settled: int = 0
    mismatch: int = 0
    candidate_error: int = 0
    candidate_timeout: int = 0
    skipped: int = 0
    sampled_out: int = 0

    @property
    def compared(self) -> int:
        """Comparisons that got two answers: match + settled + mismatch.

        ``settled`` is a difference a re-read of both sides did not reproduce (a
        read racing a write): agreement, as far as the mismatch rate goes.
        """
        return self.match + self.settled + self.mismatch

    @property
    def attempted(self) -> int:
        """Reads mirrored to the candidate: compared, or the candidate failed or timed out."""
        return self.compared + self.candidate_error + self.candidate_timeout

    @property
    def mismatch_rate(self) -> float | None:
        """mismatch / (match + settled + mismatch)."""
        return self.mismatch / self.compared if self.compared else None

    @property
    def settled_rate(self) -> float | None:
        """settled / (match + settled + mismatch)."""
        return self.settled / self.compared if self.compared else None

    @property
    def candidate_error_rate(self) -> float | None:
        """candidate_error / attempted."""
        return self.candidate_error / self.attempted if self.attempted else None

    @property
    def candidate_timeout_rate(self) -> float | None:
        """candidate_timeout / attempted."""
        return self.candidate_timeout / self.attempted if self.attempted else None

    def __add__(self, other: "ShadowCounts") -> "ShadowCounts":
        return ShadowCounts(
            *(getattr(self, name) + getattr(other, name) for name in _SHADOW_RESULTS)
        )


_SHADOW_RESULTS = (
    "match",
    "settled",
    "mismatch",
    "candidate_error",
    "candidate_timeout",
    "skipped",
    "sampled_out",
)


def shadow_counts(snapshot: Snapshot, names: ReportNames) -> dict[str, ShadowCounts]:
    """method → its shadow results (unknown result labels are ignored)."""
    raw: dict[str, dict[str, int]] = {}
    for labels, value in snapshot.series(names.shadow_total):
        result = labels.get("result", "")
        if result in _SHADOW_RESULTS:
            by_result = raw.setdefault(labels.get("method", ""), {})
            by_result[result] = by_result.get(result, 0) + int(value)
    return {method: ShadowCounts(**raw[method]) for method in sorted(raw)}


@dataclass(frozen=True)
class CanaryState:
    """The canary figures, each ``None`` when the process does not export it."""

    share: float | None
    share_values: tuple[float, ...]
    fallback_active: bool | None
    fallback_trips: int | None
    routed: Mapping[tuple[str, str], int] = field(default_factory=dict)


def _values(snapshot: Snapshot, name: str) -> list[float]:
    return [value for _, value in snapshot.series(name)]


def canary_state(snapshot: Snapshot, names: ReportNames) -> CanaryState:
    """Share (several worker processes may disagree: the highest), fallback, routing."""
    shares = sorted(set(_values(snapshot, names.canary_share)))
    active = _values(snapshot, names.fallback_active)
    trips = _values(snapshot, names.fallback_trips_total)
    routed: dict[tuple[str, str], int] = {}
    for labels, value in snapshot.series(names.routed_total):
        key = (labels.get("mode", ""), labels.get("client", ""))
        routed[key] = routed.get(key, 0) + int(value)
    return CanaryState(
        share=shares[-1] if shares else None,
        share_values=tuple(shares),
        fallback_active=any(value > 0 for value in active) if active else None,
        fallback_trips=int(sum(trips)) if trips else None,
        routed={key: calls for key, calls in sorted(routed.items()) if calls},
    )


def sum_counts(counts: Iterable[ShadowCounts]) -> ShadowCounts:
    """All methods together."""
    return sum(counts, ShadowCounts())
