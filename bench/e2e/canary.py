"""What a canary app did under load, read from its ``/metrics`` after its cells.

The canary rows only mean what they say if the router split the traffic as
chosen (``data.bench_users``) and the fallback never sent the http side back
to local mid-run; both are in orders' own metrics, so the bench reads them
instead of assuming them.
"""

from collections import defaultdict
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bench.e2e.servers import Server
from orders.adapters.product_clients.boundary import FAILED_OUTCOMES

# The fallback's shipped latency threshold (APP_CANARY_FALLBACK_MAX_P95_SECONDS=1.0) is a
# bucket bound of orders_product_client_call_duration_seconds: calls slower are counted.
SLOW_BUCKET = "1.0"


def canary_facts(server: Server) -> dict[str, Any]:
    """Routing decisions, fallback trips and the http path's calls since ``server`` started."""
    text = httpx.get(f"{server.url}/metrics", timeout=10).raise_for_status().text
    return facts_from_metrics(text)


def facts_from_metrics(text: str) -> dict[str, Any]:
    """The canary figures of one Prometheus text exposition of orders."""
    routed: dict[str, float] = defaultdict(float)
    gauges: dict[str, float] = {}
    trips = 0.0
    http_calls = 0.0
    http_within_slow_bucket = 0.0
    http_failed = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = sample.labels
            if sample.name == "orders_product_client_routed_total":
                routed[f"{labels['mode']}/{labels['client']}"] += sample.value
            elif sample.name == "orders_canary_fallback_trips_total":
                trips += sample.value
            elif sample.name in (
                "orders_flags_canary_share",
                "orders_canary_fallback_active",
                "orders_canary_http_window_error_rate",
                "orders_canary_http_window_p95_seconds",
            ):
                gauges[sample.name.removeprefix("orders_")] = sample.value
            elif labels.get("mode") != "http":
                continue
            elif sample.name == "orders_product_client_call_duration_seconds_count":
                http_calls += sample.value
                if labels.get("outcome") in FAILED_OUTCOMES:
                    http_failed += sample.value
            elif sample.name == "orders_product_client_call_duration_seconds_bucket" and float(
                labels["le"]
            ) == float(SLOW_BUCKET):
                http_within_slow_bucket += sample.value
    routed_canary = routed.get("canary/http", 0.0) + routed.get("canary/local", 0.0)
    return {
        "routed": dict(routed),
        "http_share_routed": round(routed.get("canary/http", 0.0) / routed_canary, 4)
        if routed_canary
        else None,
        "fallback_trips": int(trips),
        "http_calls": int(http_calls),
        "http_calls_failed": int(http_failed),
        f"http_calls_over_{SLOW_BUCKET}s": int(http_calls - http_within_slow_bucket),
        **gauges,
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
