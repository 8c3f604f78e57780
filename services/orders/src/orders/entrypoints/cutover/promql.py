"""The cut-over evidence as PromQL over every replica: the report's queries and the dashboard's.

``orders cutover report --prometheus URL`` asks Prometheus for ``sample_queries``:
each sample the figures read, summed over every scraped orders process by the
labels the figures keep (``sum by (le)`` and the rest), everything since each
process started or, with a window, ``increase`` over it. The figures are then
computed from those sums as from one process's ``/metrics`` (``evidence``; a
percentile is ``histogram_quantile`` over the summed buckets, as PromQL does).
``CHECK_EXPRESSIONS`` are the same checks as PromQL for the dashboard
(deploy/grafana/cutover.json carries each with ``[5m]``; a test holds them equal).
"""

from collections.abc import Mapping

from orders.entrypoints.cutover.evidence import (
    CALLS,
    CANARY_SHARE,
    FAILURE_OUTCOMES,
    FALLBACK_ACTIVE,
    FALLBACK_TRIPS,
    ROUTED,
    SHADOW,
)

__all__ = ["CHECK_EXPRESSIONS", "CUMULATIVE", "GAUGES", "check_expressions", "sample_queries"]

CUMULATIVE: Mapping[str, tuple[str, ...]] = {
    f"{CALLS}_bucket": ("mode", "method", "le"),
    f"{CALLS}_count": ("mode", "method", "outcome"),
    SHADOW: ("method", "result"),
    FALLBACK_TRIPS: (),
    ROUTED: ("mode", "client"),
}
"""Counter and histogram samples the figures read, and the labels they keep."""

GAUGES = (CANARY_SHARE, FALLBACK_ACTIVE)
"""Gauges, read per process (the report shows the highest share and any active fallback)."""


def _window(seconds: float) -> str:
    return f"{round(seconds)}s"


def sample_queries(window_seconds: float | None = None) -> dict[str, str]:
    """Sample name → the PromQL that gives it summed over every replica."""
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
_FAILED = f'outcome=~"{"|".join(sorted(FAILURE_OUTCOMES, reverse=True))}"'


def _rate(selector: str, by: str, window: str) -> str:
    return f"sum by ({by}) (rate({selector}[{window}]))"


def _quantile(q: str, matcher: str, window: str) -> str:
    return f"histogram_quantile({q}, sum by (le) (rate({CALLS}_bucket{{{matcher}}}[{window}])))"


def check_expressions(window: str = "5m") -> dict[str, str]:
    """Each check of the report as PromQL over every replica, over ``window``."""
    shadow = SHADOW
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
        "http error rate": _rate(f"{CALLS}_count{{{_FAILED}}}", "mode", window)
        + " / "
        + _rate(f"{CALLS}_count", "mode", window),
        "latency p95 http/local": _quantile("0.95", 'mode="http"', window)
        + " / "
        + _quantile("0.95", 'mode="local"', window),
        "latency p99 http/local": _quantile("0.99", 'mode="http"', window)
        + " / "
        + _quantile("0.99", 'mode="local"', window),
        "canary fallback inactive": f"max({FALLBACK_ACTIVE})",
    }


CHECK_EXPRESSIONS = check_expressions()
"""The dashboard's form (``[5m]``)."""
