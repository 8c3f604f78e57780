"""Go or no-go: every check passes with enough samples, or the verdict is NO-GO (ADR 0018)."""

import enum
from dataclasses import dataclass, field, replace
from typing import Any

from cutover.report.evidence import (
    HTTP,
    CanaryState,
    ErrorRate,
    LatencyComparison,
    ShadowCounts,
    canary_state,
    compare_latency,
    error_rates,
    shadow_counts,
    sum_counts,
)
from cutover.report.exposition import Snapshot
from cutover.report.names import ReportNames


# The ratio defaults come from a healthy extracted service (orders' products, docs/cutover.md):
# http adds a hop and a second service's work, so it is expected to be a few ms slower.
# ``settled`` (a difference a re-read did not reproduce: a read racing a write) is
# agreement for the mismatch rate, with its own loose maximum: a rate far above what
# the writes explain is a candidate that is wrong now and then, not a race.
@dataclass(frozen=True)
class Thresholds:
    """What GO requires; ``min_*`` of 0 accepts a check without data."""

    max_mismatch_rate: float = 0.001
    max_settled_rate: float = 0.05
    max_http_error_rate: float = 0.01
    max_p95_ratio: float = 5.0
    max_p99_ratio: float = 8.0
    min_shadow_samples: int = 100
    min_http_calls: int = 100
    min_local_calls: int = 100


class Status(enum.StrEnum):
    """How one check came out."""

    PASS = "pass"
    FAIL = "fail"
    INSUFFICIENT = "insufficient-data"


@dataclass(frozen=True)
class Check:
    """One check: its figure, the threshold it was held to, the samples behind it."""

    name: str
    value: float | None
    threshold: str
    samples: int | None
    status: Status
    reason: str

    def as_json(self) -> dict[str, Any]:
        """The JSON form of the check."""
        return {
            "name": self.name,
            "value": self.value,
            "threshold": self.threshold,
            "samples": self.samples,
            "status": self.status.value,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Evidence:
    """Every figure the verdict is built from."""

    shadow: dict[str, ShadowCounts]
    latency: LatencyComparison
    errors: dict[str, ErrorRate]
    canary: CanaryState

    @classmethod
    def of(cls, snapshot: Snapshot, names: ReportNames) -> "Evidence":
        """The figures of one scrape (or of a window's difference)."""
        return cls(
            shadow_counts(snapshot, names),
            compare_latency(snapshot, names),
            error_rates(snapshot, names),
            canary_state(snapshot, names),
        )


@dataclass(frozen=True)
class Verdict:
    """GO when every check passed."""

    checks: list[Check] = field(default_factory=list)

    @property
    def go(self) -> bool:
        """Whether every check passed."""
        return all(check.status is Status.PASS for check in self.checks)

    @property
    def reasons(self) -> list[str]:
        """Why not GO (one line per check that did not pass), or why GO."""
        if self.go:
            return ["every check passed with enough samples"]
        return [check.reason for check in self.checks if check.status is not Status.PASS]


def _rate_check(
    name: str, value: float | None, maximum: float, samples: int, minimum: int, what: str
) -> Check:
    threshold = f"<= {maximum:g}"
    if samples < minimum or (value is None and minimum > 0):
        return Check(
            name,
            value,
            threshold,
            samples,
            Status.INSUFFICIENT,
            f"{name}: {samples} {what}, {minimum} needed",
        )
    if value is not None and value > maximum:
        return Check(
            name, value, threshold, samples, Status.FAIL, f"{name}: {value:.4f} > {maximum:g}"
        )
    shown = "no data (none required)" if value is None else f"{value:.4f}"
    return Check(name, value, threshold, samples, Status.PASS, f"{name}: {shown}")


def _ratio_check(
    q: float, comparison: LatencyComparison, maximum: float, thresholds: Thresholds
) -> Check:
    name = f"latency p{round(q * 100)} http/local"
    value = comparison.ratios.get(q)
    threshold = f"<= {maximum:g}"
    http_calls, local_calls = comparison.http.calls, comparison.local.calls
    samples = min(http_calls, local_calls)
    short = []
    if http_calls < thresholds.min_http_calls:
        short.append(f"{http_calls} http calls, {thresholds.min_http_calls} needed")
    if local_calls < thresholds.min_local_calls:
        short.append(f"{local_calls} local calls, {thresholds.min_local_calls} needed")
    if short or value is None:
        detail = "; ".join(short) or "no method served by both paths"
        return Check(name, value, threshold, samples, Status.INSUFFICIENT, f"{name}: {detail}")
    methods = ", ".join(comparison.common_methods)
    if value > maximum:
        return Check(
            name,
            value,
            threshold,
            samples,
            Status.FAIL,
            f"{name}: {value:.2f} > {maximum:g} (over {methods})",
        )
    return Check(name, value, threshold, samples, Status.PASS, f"{name}: {value:.2f}")


def _fallback_check(canary: CanaryState, span: str) -> Check:
    """Fails while the fallback holds, and when it tripped at all in the judged figures.

    A trip means the http path breached the fallback's thresholds during the
    figures judged, even if an operator has re-opened the canary since: judge a
    ``--window`` that starts after the re-opening instead.
    """
    name = "canary fallback inactive"
    threshold = "== 0"
    if canary.fallback_active is None:
        return Check(
            name, None, threshold, None, Status.PASS, f"{name}: not exported by this process"
        )
    value = 1.0 if canary.fallback_active else 0.0
    trips = canary.fallback_trips
    if canary.fallback_active:
        shown = trips if trips is not None else "?"
        reason = (
            f"{name}: the fallback closed the canary ({shown} trip(s) {span});"
            " an operator must re-open it"
        )
        return Check(name, value, threshold, None, Status.FAIL, reason)
    if trips:
        reason = (
            f"{name}: the fallback tripped {trips} time(s) {span} (re-opened since);"
            " judge a --window after the re-opening"
        )
        return Check(name, value, threshold, None, Status.FAIL, reason)
    return Check(name, value, threshold, None, Status.PASS, f"{name}: yes")


def _by_method(shadow: dict[str, ShadowCounts], result: str) -> str:
    """``method n/compared`` for each method with comparisons of ``result``."""
    return ", ".join(
        f"{method} {getattr(counts, result)}/{counts.compared}"
        for method, counts in shadow.items()
        if getattr(counts, result)
    )


def _shadow_rate_check(
    result: str,
    by_method: dict[str, ShadowCounts],
    maximum: float,
    thresholds: Thresholds,
    advice: str = "",
) -> Check:
    """The rate of one comparison ``result`` over every method; a failure names the methods."""
    shadow = sum_counts(by_method.values())
    check = _rate_check(
        f"shadow {result} rate",
        getattr(shadow, f"{result}_rate"),
        maximum,
        shadow.compared,
        thresholds.min_shadow_samples,
        "comparisons",
    )
    if check.status is not Status.FAIL:
        return check
    return replace(check, reason=f"{check.reason} ({_by_method(by_method, result)}){advice}")


def judge(
    evidence: Evidence, thresholds: Thresholds, *, span: str = "since the process started"
) -> Verdict:
    """Every check, in the order they are printed; ``span`` says what the figures cover."""
    shadow = sum_counts(evidence.shadow.values())
    http = evidence.errors.get(HTTP, ErrorRate(0, 0, 0))
    candidate_failures = shadow.candidate_error + shadow.candidate_timeout
    checks = [
        _shadow_rate_check("mismatch", evidence.shadow, thresholds.max_mismatch_rate, thresholds),
        _shadow_rate_check(
            "settled",
            evidence.shadow,
            thresholds.max_settled_rate,
            thresholds,
            advice=": more than reads racing writes explain;"
            " read shadow_differences on the settled log lines",
        ),
        _rate_check(
            "shadow candidate failure rate",
            candidate_failures / shadow.attempted if shadow.attempted else None,
            thresholds.max_http_error_rate,
            shadow.attempted,
            thresholds.min_shadow_samples,
            "mirrored reads",
        ),
        _rate_check(
            "http error rate",
            http.rate,
            thresholds.max_http_error_rate,
            http.calls,
            thresholds.min_http_calls,
            "http calls",
        ),
        _ratio_check(0.95, evidence.latency, thresholds.max_p95_ratio, thresholds),
        _ratio_check(0.99, evidence.latency, thresholds.max_p99_ratio, thresholds),
        _fallback_check(evidence.canary, span),
    ]
    return Verdict(checks)
