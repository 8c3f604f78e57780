"""deploy/grafana/cutover.json: a well-formed dashboard over the metrics orders exports.

Here against the orders app's /metrics in this process (every family is declared
at import); tests/integration/test_cutover_report.py checks a real process after
shadow traffic.
"""

import re

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from cutover.report.promql import check_expressions, sample_queries
from orders.adapters.product_clients.metrics import REPORT_NAMES
from orders.main import create_app
from tests.support import grafana


@pytest.fixture(autouse=True)
def _testing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ENVIRONMENT", "testing")


def test_dashboard_is_well_formed_with_a_datasource_variable() -> None:
    dashboard = grafana.load()

    assert dashboard["uid"] == "orders-cutover"
    assert dashboard["title"]
    assert isinstance(dashboard["schemaVersion"], int)
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert set(panel["gridPos"]) == {"h", "w", "x", "y"}
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        if panel["type"] == "row":
            continue
        assert panel["title"]
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert panel["targets"], panel["title"]
        ref_ids = [target["refId"] for target in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids)), panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == panel["datasource"]
            assert target["expr"].count("(") == target["expr"].count(")"), target["expr"]


async def test_every_metric_the_dashboard_reads_is_on_orders_metrics() -> None:
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://orders") as client:
        response = await client.get("/metrics")
    assert response.status_code == 200
    exported = {family.name for family in text_string_to_metric_families(response.text)}

    used = grafana.metric_families(grafana.load())

    assert used <= exported
    # The report reads the same names; the dashboard also shows the fallback's window.
    assert used - set(REPORT_NAMES.families) == {
        "orders_canary_http_window_error_rate",
        "orders_canary_http_window_p95_seconds",
    }


def test_dashboard_shows_the_report_figures() -> None:
    exprs = grafana.queries(grafana.load())
    joined = "\n".join(exprs)

    for quantile in ("0.5", "0.95", "0.99"):
        pattern = (
            rf"histogram_quantile\({quantile}, sum by \([a-z, ]*le\) "
            r"\(rate\(orders_product_client_call_duration_seconds_bucket\{[^}]*\}\[5m\]\)\)\)"
        )
        assert re.search(pattern, joined), quantile
    assert 'result="mismatch"' in joined
    # settled (a difference a re-read did not reproduce) is shown next to mismatch, and
    # counts as a comparison wherever comparisons are the denominator, as in the report.
    assert 'result="settled"' in joined
    for expr in exprs:
        if 'result=~"match|' in expr:
            assert 'result=~"match|settled|mismatch' in expr, expr
    assert 'outcome=~"products_unavailable|error"' in joined
    assert "sum by (mode, client) (rate(orders_product_client_routed_total[5m]))" in joined
    assert "max(orders_canary_fallback_active)" in joined


def test_the_dashboard_plots_the_reports_checks_as_defined_once() -> None:
    exprs = set(grafana.queries(grafana.load()))

    checks = check_expressions(REPORT_NAMES)
    missing = {name: expr for name, expr in checks.items() if expr not in exprs}

    assert missing == {}, (
        "deploy/grafana/cutover.json must carry cutover.report.promql's expressions"
    )


def test_the_reports_prometheus_queries_sum_every_replica() -> None:
    queries = sample_queries(REPORT_NAMES)
    windowed = sample_queries(REPORT_NAMES, 300)

    assert queries["orders_product_client_call_duration_seconds_bucket"] == (
        "sum by (mode, method, le) (orders_product_client_call_duration_seconds_bucket)"
    )
    assert windowed["orders_product_client_shadow_comparisons_total"] == (
        "sum by (method, result) (increase(orders_product_client_shadow_comparisons_total[300s]))"
    )
    assert set(REPORT_NAMES.families) <= {grafana.family(name) for name in queries}
