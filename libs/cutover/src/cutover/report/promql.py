"""The cut-over evidence as PromQL over every replica, for the report and dashboard (ADR 0018)."""

from collections.abc import Mapping

from cutover.report.names import ReportNames


def cumulative(names: ReportNames) -> Mapping[str, tuple[str, ...]]:
    """Counter and histogram samples the figures read, and the labels they keep."""
    return {
        names.calls_bucket: ("mode", "method", "le"),
        names.calls_count: ("mode", "method", "outcome"),
        names.shadow_total: ("method", "result"),
        names.fallback_trips_total: (),
        names.routed_total: ("mode", "client"),
    }


def gauges(names: ReportNames) -> tuple[str, ...]:
    """Gauges, read per process (the report shows the highest share and any active fallback)."""
    return (names.canary_share, names.fallback_active)


def _window(seconds: float) -> str:
    return f"{round(seconds)}s"


def sample_queries(names: ReportNames, window_seconds: float | None = None) -> dict[str, str]:
    """Sample name → the PromQL that gives it summed over every replica.

    Summed by the labels the figures keep, everything since each process started
    or, with a window, ``increase`` over it; ``evidence`` computes the figures from
    these sums as from one process's ``/metrics`` (a percentile is
    ``histogram_quantile`` over the summed buckets, as PromQL does).
    """
    queries = {}
    for name, labels in cumulative(names).items():
        inner = name if window_seconds is None else f"increase({name}[{_window(window_seconds)}])"
        by = f" by ({', '.join(labels)})" if labels else ""
        queries[name] = f"sum{by} ({inner})"
    for gauge in gauges(names):
        queries[gauge] = gauge
    return queries


_COMPARED = 'result=~"match|settled|mismatch"'
_MIRRORED = 'result=~"match|settled|mismatch|candidate_error|candidate_timeout"'


def _rate(selector: str, by: str, window: str) -> str:
    return f"sum by ({by}) (rate({selector}[{window}]))"


def _quantile(q: str, buckets: str, matcher: str, window: str) -> str:
    return f"histogram_quantile({q}, sum by (le) (rate({buckets}{{{matcher}}}[{window}])))"


def check_expressions(names: ReportNames, window: str = "5m") -> dict[str, str]:
    """Each check of the report as PromQL over every replica, over ``window``.

    ``[5m]`` is the dashboard's form: a service's dashboard carries each (a test checks).
    """
    shadow, calls, buckets = names.shadow_total, names.calls_count, names.calls_bucket
    failed = f'outcome=~"{"|".join(names.failed)}"'
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
        "http error rate": _rate(f"{calls}{{{failed}}}", "mode", window)
        + " / "
        + _rate(calls, "mode", window),
        "latency p95 http/local": _quantile("0.95", buckets, 'mode="http"', window)
        + " / "
        + _quantile("0.95", buckets, 'mode="local"', window),
        "latency p99 http/local": _quantile("0.99", buckets, 'mode="http"', window)
        + " / "
        + _quantile("0.99", buckets, 'mode="local"', window),
        "canary fallback inactive": f"max({names.fallback_active})",
    }
