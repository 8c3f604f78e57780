"""``orders cutover report`` reads orders' metric names, outcomes and flags; the report is libs/cutover's.

The figures, checks and the command's behaviour are tested in libs/cutover/tests/report
on an example boundary; here a scrape with orders' names, served on a free port.
"""

import json
from collections.abc import Callable, Iterator

import pytest

from libs.cutover.tests.report.traffic import Served, healthy, serving
from orders.adapters.product_clients.metrics import REPORT_NAMES
from orders.entrypoints.cli import main


@pytest.fixture
def serve() -> Iterator[Callable[[Served], str]]:
    """Serve a ``Served`` on 127.0.0.1 (a free port the OS picks); its base URL."""
    with serving() as start:
        yield start


def report(url: str, capsys: pytest.CaptureFixture[str], *options: str) -> tuple[int, str, str]:
    status = main(["cutover", "report", "--url", url, *options])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_orders_metrics_are_judged_and_products_unavailable_is_an_error(
    serve: Callable[[Served], str], capsys: pytest.CaptureFixture[str]
) -> None:
    url = serve(Served([(200, healthy(REPORT_NAMES).text())]))

    status, out, _ = report(url, capsys)

    assert status == 0
    assert "Error rate by mode (outcome products_unavailable or error / calls)" in out
    assert "http error rate                0      <= 0.01    205      pass" in out
    assert "Verdict: GO" in out

    failing = healthy(REPORT_NAMES).call(
        "http", "lookup_products", 0.004, 3, outcome="products_unavailable"
    )
    status, out, _ = report(serve(Served([(200, failing.text())])), capsys, "--json")

    assert status == 1
    assert json.loads(out)["reasons"] == ["http error rate: 0.0144 > 0.01"]


def test_the_token_reads_orders_admin_flags(
    serve: Callable[[Served], str], capsys: pytest.CaptureFixture[str]
) -> None:
    flags = {
        "effective": {"products_client": "canary"},
        "choosable_products_clients": ["local", "http", "shadow", "canary"],
    }
    served = Served(
        [(200, healthy(REPORT_NAMES).text())],
        flags=(200, json.dumps(flags)),
        flags_path="/api/v1/admin/flags",
    )

    _, out, _ = report(serve(served), capsys, "--token", "T0K")

    assert served.authorizations == ["Bearer T0K"]
    assert "products_client may be: local, http, shadow, canary" in out


def test_a_service_without_orders_metrics_is_not_an_orders_service(
    serve: Callable[[Served], str], capsys: pytest.CaptureFixture[str]
) -> None:
    url = serve(Served([(200, healthy().text())]))

    status, out, err = report(url, capsys)

    assert status == 2
    assert out == ""
    assert "has no orders_product_client_call_duration_seconds: not an orders service" in err


def test_the_help_speaks_of_orders(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["cutover", "report", "--help"])

    assert exit_.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for said in (
        "Read the cut-over evidence from a running orders service",
        "p50/p95/p99 of orders_product_client_call_duration_seconds per mode",
        "outcome products_unavailable or error / all calls (domain answers such as"
        " insufficient_stock are not errors, nor is queue_full: orders' own bulkhead"
        " refusing a call)",
        "not Prometheus text, not an orders service)",
        "one orders process's base URL, e.g. http://orders:8000 (its /metrics)",
        "every orders replica it scrapes",
        "(GET /api/v1/admin/flags; --url only)",
    ):
        assert said in text
