"""``orders cutover report --prometheus``: the figures of every replica, summed by a real Prometheus.

Two orders processes in shadow mode share one products; each gets its own amount of
traffic; a Prometheus of the test's own scrapes all three. The report read from
Prometheus must equal the report of the two processes' ``/metrics`` added together,
and the dashboard's check expressions (``cutover.report.promql``) must evaluate there.
"""

import json
import time
from functools import partial
from typing import Any
from uuid import UUID

import pytest

from cutover.report.exposition import LabelSet, Snapshot, parse_exposition
from cutover.report.promql import check_expressions, cumulative, gauges
from cutover.report.read import build_prometheus_report
from cutover.report.render import Report, describe_span
from cutover.report.verdict import Evidence, Thresholds, judge
from orders.adapters.product_clients.metrics import REPORT_NAMES
from orders.entrypoints.cli import CUTOVER, main
from tests.integration.stack import Shop, Stack, eventually
from tests.support import prometheus
from tests.support.processes import ServiceProcess

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

SHADOW_METRIC = "orders_product_client_shadow_comparisons"
FINISHED = {"match", "settled", "mismatch", "candidate_error", "candidate_timeout"}
# The pipeline is the subject, not the machine's latency or sample sizes.
LOOSE = Thresholds(
    max_p95_ratio=100,
    max_p99_ratio=100,
    min_shadow_samples=10,
    min_http_calls=10,
    min_local_calls=10,
)


def _finished(shop: Shop, orders: ServiceProcess, at_least: int) -> float | None:
    done = sum(
        value
        for labels, value in shop.metric_samples(orders, SHADOW_METRIC)
        if labels["result"] in FINISHED
    )
    return done if done >= at_least else None


def _quotes(shop: Shop, orders: ServiceProcess, product: UUID, count: int) -> None:
    for index in range(count):
        quote = shop.post(
            orders,
            f"prom-{index % 5}",
            "/quote",
            {"items": [{"product_id": str(product), "quantity": 1 + index % 2}]},
        )
        assert quote.status_code == 200, quote.text
    eventually(partial(_finished, shop, orders, count), timeout=30)


def _summed(shop: Shop, processes: list[ServiceProcess]) -> Snapshot:
    """The processes' /metrics added up: counters summed, each gauge kept per process."""
    samples: dict[str, dict[LabelSet, float]] = {}
    cumulative: set[str] = set()
    families: set[str] = set()
    for process in processes:
        snapshot = parse_exposition(shop.http.get(f"{process.url}/metrics").text)
        cumulative |= snapshot.cumulative
        families |= snapshot.families
        for name, by_labels in snapshot.samples.items():
            into = samples.setdefault(name, {})
            for labels, value in by_labels.items():
                if name not in snapshot.cumulative:
                    labels = labels | {("instance", process.url)}
                into[labels] = into.get(labels, 0.0) + value
    return Snapshot(samples, frozenset(cumulative), frozenset(families))


def _read(snapshot: Snapshot) -> dict[str, Any]:
    """The samples the report reads (/metrics also counts its own scrapes, CPU time, ...)."""
    read = [*cumulative(REPORT_NAMES), *gauges(REPORT_NAMES)]
    return {name: snapshot.samples.get(name) for name in read}


def _figures(report: Report) -> dict[str, Any]:
    """The report's JSON without where it came from; floats rounded (summed in another order)."""

    def rounded(value: Any) -> Any:
        if isinstance(value, float):
            return round(value, 9)
        if isinstance(value, dict):
            return {key: rounded(item) for key, item in value.items()}
        if isinstance(value, list):
            return [rounded(item) for item in value]
        return value

    body = report.as_json()
    for key in ("url", "source", "replicas", "window_seconds", "reasons", "checks"):
        body.pop(key)
    return dict(rounded(body))


def test_the_report_from_prometheus_is_the_sum_over_every_replica(
    stack: Stack, shop: Shop, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    products = stack.start_products()
    replicas = [
        stack.start_orders("shadow", products, APP_SHADOW_TIMEOUT_SECONDS="5") for _ in range(2)
    ]
    product = shop.add_product(products, stock=1_000)
    address = [process.url.removeprefix("http://") for process in replicas]
    jobs = {"orders": address, "products": [products.url.removeprefix("http://")]}

    with prometheus.running_prometheus(jobs, tmp_path / "prometheus") as url:
        _quotes(shop, replicas[0], product, 30)
        _quotes(shop, replicas[1], product, 45)
        placed = shop.place(replicas[1], "prom-buyer", {product: 1})
        assert placed.status_code == 201, placed.text

        # Background work (the reconciler) may call products between two reads:
        # compare a Prometheus answer with /metrics read just before and after it.
        for _ in range(5):
            before = _summed(shop, replicas)
            prometheus.scraped_after(url, "orders", 2, since=time.time())
            from_prometheus = build_prometheus_report(CUTOVER, url, LOOSE)
            if _read(_summed(shop, replicas)) == _read(before):
                break
        else:
            pytest.fail("orders' /metrics kept changing while Prometheus was read")
        evidence = Evidence.of(before, REPORT_NAMES)
        expected = Report(
            "two processes",
            None,
            LOOSE,
            evidence,
            judge(evidence, LOOSE, span=describe_span(None, False)),
            None,
        )

        assert from_prometheus.replicas == 2
        assert _figures(from_prometheus) == _figures(expected)
        assert from_prometheus.verdict.go, from_prometheus.verdict.reasons
        # Both replicas' traffic: each alone has fewer comparisons.
        shadow = from_prometheus.as_json()["shadow"]["total"]
        assert shadow["match"] + shadow["settled"] == 30 + 45

        # The command line: the same verdict, and it says where the figures come from.
        status = main(["cutover", "report", "--prometheus", url, "--json", "--max-p95-ratio", "100",
                       "--max-p99-ratio", "100", "--min-shadow-samples", "10",
                       "--min-http-calls", "10", "--min-local-calls", "10"])  # fmt: skip
        printed = json.loads(capsys.readouterr().out)
        assert status == 0, printed["reasons"]
        assert (printed["source"], printed["replicas"]) == ("prometheus", 2)
        # Over a window, increase() across both replicas: the traffic after the series
        # were first scraped (increase() cannot see what a series held when it appeared).
        _quotes(shop, replicas[0], product, 30 + 10)
        prometheus.scraped_after(url, "orders", 2, since=time.time())
        over_window = build_prometheus_report(CUTOVER, url, LOOSE, window=60)
        windowed = over_window.as_json()["shadow"]["total"]
        assert windowed["match"] + windowed["settled"] > 0

        # The dashboard's checks, defined once (cutover.report.promql), are valid PromQL here.
        checks = check_expressions(REPORT_NAMES)
        for name, expression in checks.items():
            assert isinstance(prometheus.query(url, expression), list), name
        mismatch = prometheus.query(url, checks["shadow mismatch rate"])
        # 0 where comparisons grew within the 5 m; NaN (0/0) where a series did not move.
        assert not any(float(sample["value"][1]) > 0 for sample in mismatch)

    # Prometheus gone: the report cannot read the evidence (exit 2).
    assert main(["cutover", "report", "--prometheus", url]) == 2
    assert "cannot read the evidence" in capsys.readouterr().err
