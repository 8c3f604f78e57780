"""What a canary app did under load, read from its ``/metrics`` as the cut-over report reads it."""

from typing import Any

import httpx

from bench.e2e.servers import Server
from cutover.report.evidence import HTTP, ErrorRate, canary_state, error_rates
from cutover.report.exposition import parse_exposition
from orders.adapters.product_clients.metrics import REPORT_NAMES as names

# The fallback's shipped latency threshold (APP_CANARY_FALLBACK_MAX_P95_SECONDS=1.0) is a
# bucket bound of the product client call histogram: calls slower are counted.
SLOW_BUCKET = "1.0"
# The gauges shown as they are, under their names without the ``orders_`` prefix.
GAUGES = (names.canary_share, names.fallback_active, names.window_error_rate, names.window_p95)


# The canary rows only mean what they say if the router split the traffic as
# chosen (``data.bench_users``) and the fallback never sent the http side back
# to local mid-run; both are in orders' own metrics, so the bench reads them
# instead of assuming them.
def canary_facts(server: Server) -> dict[str, Any]:
    """Routing decisions, fallback trips and the http path's calls since ``server`` started."""
    text = httpx.get(f"{server.url}/metrics", timeout=10).raise_for_status().text
    return facts_from_metrics(text)


def facts_from_metrics(text: str) -> dict[str, Any]:
    """The canary figures of one Prometheus text exposition of orders."""
    snapshot = parse_exposition(text)
    canary = canary_state(snapshot, names)
    routed = {f"{mode}/{client}": calls for (mode, client), calls in canary.routed.items()}
    http = error_rates(snapshot, names).get(HTTP, ErrorRate(0, 0, 0))
    within_slow_bucket = sum(
        value
        for labels, value in snapshot.series(names.calls_bucket)
        if labels.get("mode") == HTTP and float(labels["le"]) == float(SLOW_BUCKET)
    )
    routed_canary = routed.get("canary/http", 0) + routed.get("canary/local", 0)
    return {
        "routed": routed,
        "http_share_routed": round(routed.get("canary/http", 0) / routed_canary, 4)
        if routed_canary
        else None,
        "fallback_trips": canary.fallback_trips or 0,
        "http_calls": http.calls,
        "http_calls_failed": http.errors,
        f"http_calls_over_{SLOW_BUCKET}s": int(http.calls - within_slow_bucket),
        **{
            name.removeprefix("orders_"): value
            for name in GAUGES
            for _, value in snapshot.series(name)
        },
    }


def describe(name: str, facts: dict[str, Any]) -> str:
    """One line for the console."""
    share = facts["http_share_routed"]
    shown = "n/a" if share is None else f"{100 * share:.1f} %"
    slow = facts[f"http_calls_over_{SLOW_BUCKET}s"]
    line = (
        f"  orders-{name}: routed {dict(facts['routed'])} (http {shown}); "
        f"http calls {facts['http_calls']:,} ({facts['http_calls_failed']} failed, "
        f"{slow} over {SLOW_BUCKET} s); fallback trips {facts['fallback_trips']}"
    )
    if facts["fallback_trips"]:
        line += "  ** the canary fallback tripped: the http side fell back to local **"
    return line
