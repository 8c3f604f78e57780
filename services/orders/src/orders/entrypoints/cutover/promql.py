"""The cut-over evidence as PromQL over every replica, for the report and dashboard (ADR 0018)."""

from collections.abc import Mapping

from orders.entrypoints.cutover.names import (
    CALLS_BUCKET,
    CALLS_COUNT,
    CANARY_SHARE,
    FAILED_OUTCOMES,
    FALLBACK_ACTIVE,
    FALLBACK_TRIPS_TOTAL,
    ROUTED_TOTAL,
    SHADOW_TOTAL,
)

CUMULATIVE: Mapping[str, tuple[str, ...]] = {
    CALLS_BUCKET: ("mode", "method", "le"),
    CALLS_COUNT: ("mode", "method", "outcome"),
    SHADOW_TOTAL: ("method", "result"),
    FALLBACK_TRIPS_TOTAL: (),
    ROUTED_TOTAL: ("mode", "client"),
}
"""Counter and histogram samples the figures read, and the labels they keep."""

GAUGES = (CANARY_SHARE, FALLBACK_ACTIVE)
"""Gauges, read per process (the report shows the highest share and any active fallback)."""


def _window(seconds: float) -> str:
    return f"{round(seconds)}s"


def sample_queries(window_seconds: float | None = None) -> dict[str, str]:
    """Sample name → the PromQL that gives it summed over every replica.

    Summed by the labels the figures keep, everything since each process started
    or, with a window, ``increase`` over it; ``evidence`` computes the figures from
    these sums as from one process's ``/metrics`` (a percentile is
    ``histogram_quantile`` over the summed buckets, as PromQL does).
    """
    queries = {}
    for name, labels in CUMULATIVE.items():
        inner = name if window_seconds is None else f"increase({name}[{_window(window_seconds)}])"
        by = f" by ({', '.join(labels)})" if labels else ""
        queries[name] = f"sum{by} ({inner})"
    for gauge in GAUGES:
        queries[gauge] = gauge
    return queries


_COMPARED = 'result=~"match|settled|mismatch"'
_MIRRORED = 'result=~"match|settled|mismatch|candidate_error|candidate_timeout"'
_FAILED = f'outcome=~"{"|".join(sorted(FAILED_OUTCOMES, reverse=True))}"'


def _rate(selector: str, by: str, window: str) -> str:
    return f"sum by ({by}) (rate({selector}[{window}]))"


def _quantile(q: str, matcher: str, window: str) -> str:
    return f"histogram_quantile({q}, sum by (le) (rate({CALLS_BUCKET}{{{matcher}}}[{window}])))"


def check_expressions(window: str = "5m") -> dict[str, str]:
    """Each check of the report as PromQL over every replica, over ``window``."""
    shadow = SHADOW_TOTAL
    return {
        "shadow mismatch rate": _rate(f'{shadow}{{result="mismatch"}}', "method", window)
        + " / "
        + _rate(f"{shadow}{{{_COMPARED}}}", "method", window),
        "shadow settled rate": _rate(f'{shadow}{{result="settled"}}', "method", window)
        + " / "
        + _rate(f"{shadow}{{{_COMPARED}}}", "method", window),
        "shadow candidate failure rate": _rate(
            f'{shadow}{{result=~"candidate_error|candidate_timeout"}}', "method, result", window
        )
        + " / ignoring(result) group_left "
        + _rate(f"{shadow}{{{_MIRRORED}}}", "method", window),
        "http error rate": _rate(f"{CALLS_COUNT}{{{_FAILED}}}", "mode", window)
        + " / "
        + _rate(CALLS_COUNT, "mode", window),
        "latency p95 http/local": _quantile("0.95", 'mode="http"', window)
        + " / "
        + _quantile("0.95", 'mode="local"', window),
        "latency p99 http/local": _quantile("0.99", 'mode="http"', window)
        + " / "
        + _quantile("0.99", 'mode="local"', window),
        "canary fallback inactive": f"max({FALLBACK_ACTIVE})",
    }


CHECK_EXPRESSIONS = check_expressions()
"""The dashboard's form (``[5m]``): deploy/grafana/cutover.json carries each (a test checks)."""
