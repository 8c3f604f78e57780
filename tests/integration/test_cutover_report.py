"""``orders cutover report`` against real processes: shadow traffic, then the verdict.

Orders runs in shadow mode against a products process; quotes and orders make the
local path answer and the http path mirror the reads. The report must say GO for a
healthy products, NO-GO over a window in which products is down, and exit 2 once
orders itself is gone.
"""

import json
from functools import partial
from uuid import UUID

import pytest
from prometheus_client.parser import text_string_to_metric_families

from cutover.report.read import build_report
from cutover.report.verdict import Status, Thresholds
from orders.entrypoints.cli import CUTOVER, main
from tests.integration.stack import API, Shop, Stack, eventually
from tests.support import grafana
from tests.support.processes import ServiceProcess

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

SHADOW_METRIC = "orders_product_client_shadow_comparisons"
QUOTES = 120
PLACEMENTS = 20
AVAILABILITY = 20
# Reads mirrored to products: a quote looks up its lines, an availability check
# reads the product and its stock; a placement only writes (reserve, confirm).
MIRRORED = QUOTES + 2 * AVAILABILITY
# The latency ratio of two processes on a shared, loaded test machine is not the
# subject here (shadow mode times the candidate while the primary runs on the same
# event loop); the pipeline from /metrics to the verdict is. The default ratio
# thresholds are measured and explained in docs/cutover.md.
LOOSE_LATENCY = ["--max-p95-ratio", "100", "--max-p99-ratio", "100"]


def _attempted(shop: Shop, orders: ServiceProcess, at_least: int) -> float | None:
    """Mirrored reads whose comparison finished, once there are ``at_least``."""
    done = sum(
        value
        for labels, value in shop.metric_samples(orders, SHADOW_METRIC)
        if labels["result"]
        in {"match", "settled", "mismatch", "candidate_error", "candidate_timeout"}
    )
    return done if done >= at_least else None


def _traffic(shop: Shop, orders: ServiceProcess, product: UUID) -> None:
    for index in range(AVAILABILITY):
        response = shop.http.get(
            f"{orders.url}{API}/availability/{product}?quantity=2",
            headers=shop.auth(f"cutover-{index % 7}"),
        )
        assert response.status_code == 200, response.text
    for index in range(QUOTES):
        quote = shop.post(
            orders,
            f"cutover-{index % 7}",
            "/quote",
            {"items": [{"product_id": str(product), "quantity": 1 + index % 3}]},
        )
        assert quote.status_code == 200, quote.text


def test_report_says_go_for_healthy_shadow_traffic_and_no_go_when_products_is_down(
    stack: Stack, shop: Shop, capsys: pytest.CaptureFixture[str]
) -> None:
    products = stack.start_products()
    orders = stack.start_orders("shadow", products, APP_SHADOW_TIMEOUT_SECONDS="5")
    product = shop.add_product(products, stock=1_000)
    _traffic(shop, orders, product)
    # Every comparison done before stock changes: a mirrored read still in flight
    # when an order reserves would see other stock and count as a mismatch.
    eventually(partial(_attempted, shop, orders, MIRRORED), timeout=30)
    for index in range(PLACEMENTS):
        placed = shop.place(orders, f"cutover-{index % 7}", {product: 1})
        assert placed.status_code == 201, placed.text

    status = main(["cutover", "report", "--url", orders.url, "--json", *LOOSE_LATENCY])
    report = json.loads(capsys.readouterr().out)

    assert status == 0, report
    assert report["verdict"] == "GO", report["reasons"]
    assert report["shadow"]["total"]["match"] == MIRRORED
    assert report["shadow"]["total"]["mismatch"] == 0
    latency = report["latency"]
    # In shadow mode the http path serves mirrored reads only: those are compared.
    assert "shadow" in latency["local_series"]
    assert latency["common_methods"] == ["check_stock", "get_product", "lookup_products"]
    assert latency["http"]["calls"] == MIRRORED
    assert latency["http"]["p95"] > 0
    assert latency["local"]["p95"] > 0
    assert report["errors"]["http"]["errors"] == 0
    # Writes go to the primary only: reserve and confirm are not mirrored.
    assert latency["by_method"]["reserve"]["http"]["calls"] == 0
    assert latency["by_method"]["reserve"]["local"]["calls"] == PLACEMENTS

    # Every metric family the dashboard reads is on this process's /metrics.
    scraped = shop.http.get(f"{orders.url}/metrics").text
    exported = {family.name for family in text_string_to_metric_families(scraped)}
    assert grafana.metric_families(grafana.load()) <= exported
    # Shadow is the run-time mode in force: every request was routed to it.
    assert report["canary"]["share"] == 0
    assert report["canary"]["fallback_active"] is False
    assert {(r["mode"], r["client"]) for r in report["canary"]["routed"]} == {("shadow", "shadow")}

    # With an admin token the report shows the flags in force (the admin API).
    token = shop.auth("cutover-ops", "admin")["Authorization"].removeprefix("Bearer ")
    command = ["cutover", "report", "--url", orders.url, "--token", token, "--json"]
    assert main([*command, *LOOSE_LATENCY]) == 0
    flags = json.loads(capsys.readouterr().out)["flags"]
    assert flags["effective"]["products_client"] == "shadow"
    assert "canary" in flags["choosable_products_clients"]

    # The text form carries the same verdict and every check.
    assert main(["cutover", "report", "--url", orders.url, *LOOSE_LATENCY]) == 0
    text = capsys.readouterr().out
    assert "Verdict: GO" in text
    for check in report["checks"]:
        assert check["name"] in text

    # The same evidence held to a latency ratio no two paths meet: NO-GO on latency alone.
    assert main(["cutover", "report", "--url", orders.url, "--max-p95-ratio", "0.01"]) == 1
    text = capsys.readouterr().out
    assert "latency p95 http/local" in text.split("Verdict: NO-GO")[1]
    assert "shadow mismatch rate" not in text.split("Verdict: NO-GO")[1]

    # Products goes away: the mirrored reads fail, the local path still answers.
    # Judged over a window in which that traffic happens, the verdict is NO-GO.
    products.stop()

    def outage_traffic(seconds: float) -> None:
        _traffic(shop, orders, product)
        eventually(partial(_attempted, shop, orders, 2 * MIRRORED), timeout=60)

    during_outage = build_report(
        CUTOVER, orders.url, Thresholds(), window=1.0, sleep=outage_traffic, timeout=10
    )

    assert not during_outage.verdict.go
    failed = {check.name for check in during_outage.verdict.checks if check.status is Status.FAIL}
    assert {"shadow candidate failure rate", "http error rate"} <= failed
    errors = during_outage.evidence.errors["http"]
    # Only the window's calls: the healthy ones before it were subtracted.
    assert errors.calls == MIRRORED
    assert errors.errors == MIRRORED
    # Since start-up, half of the http calls failed: NO-GO as well.
    assert main(["cutover", "report", "--url", orders.url]) == 1
    assert "Verdict: NO-GO" in capsys.readouterr().out

    orders.stop()
    assert main(["cutover", "report", "--url", orders.url]) == 2
    assert "cannot read the service" in capsys.readouterr().err
