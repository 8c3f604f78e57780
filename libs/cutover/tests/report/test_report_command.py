"""``cutover report`` as a command, against a fake service: output, JSON, window, flags, exits."""

import argparse
import json
import socket
from collections.abc import Callable, Iterator, Sequence

import pytest

from cutover.report.cli import add_report_command, run
from libs.cutover.tests.report.traffic import SUBJECT, UNAVAILABLE, Served, healthy, serving


@pytest.fixture
def serve() -> Iterator[Callable[[Served], str]]:
    """Serve a ``Served`` on 127.0.0.1 (a free port the OS picks); its base URL."""
    with serving() as start:
        yield start


def main(argv: list[str]) -> int:
    """The example service's command line: ``report`` added as a service adds it."""
    parser = argparse.ArgumentParser(prog="example")
    commands = parser.add_subparsers(dest="command", required=True)
    add_report_command(commands, SUBJECT)
    return run(parser.parse_args(argv), SUBJECT)


def report(url: str, capsys: pytest.CaptureFixture[str], *options: str) -> tuple[int, str, str]:
    status = main(["report", "--url", url, *options])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_go_prints_every_check_with_value_threshold_samples_and_exits_0(
    serve: Callable[[Served], str], capsys: pytest.CaptureFixture[str]
) -> None:
    url = serve(Served([(200, healthy().text())]))

    status, out, _ = report(url, capsys)

    assert status == 0
    checks = out.split("\nChecks\n")[1]
    assert "shadow mismatch rate           0      <= 0.001   200      pass" in checks
    assert "http error rate                0      <= 0.01    205      pass" in checks
    assert "latency p95 http/local" in checks
    assert "<= 5" in checks
    assert "<= 8" in checks
    assert "Verdict: GO" in out
    assert "estimates from histogram buckets" in out


def test_no_go_json_names_the_reasons_and_exits_1(
    serve: Callable[[Served], str], capsys: pytest.CaptureFixture[str]
) -> None:
    traffic = healthy().compared("get_product", "mismatch", 1)
    url = serve(Served([(200, traffic.text())]))

    status, out, _ = report(url, capsys, "--json")

    assert status == 1
    body = json.loads(out)
    assert body["verdict"] == "NO-GO"
    assert body["reasons"] == ["shadow mismatch rate: 0.0050 > 0.001 (get_product 1/51)"]
    assert body["shadow"]["by_method"]["get_product"]["mismatch_rate"] == pytest.approx(1 / 51)
    assert body["thresholds"]["max_mismatch_rate"] == 0.001
    assert "flags" not in body


def test_settled_is_shown_by_method_in_text_and_json_and_its_maximum_is_an_option(
    serve: Callable[[Served], str], capsys: pytest.CaptureFixture[str]
) -> None:
    traffic = healthy().compared("get_product", "settled", 2)
    url = serve(Served([(200, traffic.text())]))

    status, out, _ = report(url, capsys)

    assert status == 0
    shadow_table = out.split("Shadow comparisons by method\n")[1].split("\n\n")[0].splitlines()
    header, *rows = (line.split() for line in shadow_table)
    cells = {row[0]: dict(zip(header, row, strict=True)) for row in rows}
    shown = ("match", "settled", "mismatch", "mismatch_rate", "settled_rate")
    assert [cells["get_product"][column] for column in shown] == [
        "50",
        "2",
        "0",
        "0.0000",
        "0.0385",  # 2 / 52
    ]
    assert [cells["all"][column] for column in shown[:3]] == ["200", "2", "0"]
    assert "shadow settled rate            0.009901  <= 0.05" in out

    status, out, _ = report(url, capsys, "--json", "--max-settled-rate", "0.005")

    assert status == 1
    body = json.loads(out)
    assert body["shadow"]["total"]["settled"] == 2
    assert body["shadow"]["by_method"]["get_product"]["settled_rate"] == pytest.approx(2 / 52)
    assert body["shadow"]["total"]["mismatch_rate"] == 0
    assert body["thresholds"]["max_settled_rate"] == 0.005
    assert body["reasons"] == [
        "shadow settled rate: 0.0099 > 0.005 (get_product 2/52): more than reads racing writes"
        " explain; read shadow_differences on the settled log lines"
    ]


def test_window_scrapes_twice_and_judges_the_traffic_in_between(
    serve: Callable[[Served], str], capsys: pytest.CaptureFixture[str]
) -> None:
    traffic = healthy()
    first = traffic.text()
    traffic.call("http", "lookup_products", 0.004, 5, outcome=UNAVAILABLE)
    url = serve(Served([(200, first), (200, traffic.text())]))

    status, out, _ = report(url, capsys, "--window", "0.05", "--json", "--min-http-calls", "5")

    body = json.loads(out)
    assert status == 1
    assert body["window_seconds"] == 0.05
    assert body["restarted_during_window"] is False
    assert body["errors"]["http"] == {"calls": 5, "errors": 5, "cancelled": 0, "rate": 1.0}


def test_a_window_the_service_restarted_in_says_so(
    serve: Callable[[Served], str], capsys: pytest.CaptureFixture[str]
) -> None:
    first = healthy().call("http", "lookup_products", 0.004, 500).text()
    second = healthy().text()
    url = serve(Served([(200, first), (200, second), (200, first), (200, second)]))

    status, out, _ = report(url, capsys, "--window", "0.05")

    assert status == 0
    assert out.splitlines()[0] == (
        f"Cut-over report for {url} (over a 0.05 s window during which the service"
        " restarted: the figures are everything since that restart)"
    )
    _, out, _ = report(url, capsys, "--window", "0.05", "--json")
    assert json.loads(out)["restarted_during_window"] is True


def test_flags_are_shown_with_a_token_and_a_missing_endpoint_is_left_out(
    serve: Callable[[Served], str], capsys: pytest.CaptureFixture[str]
) -> None:
    flags = {
        "effective": {"inventory_client": "canary", "canary_share": 5},
        "overrides": {
            "canary_share": {
                "value": 5,
                "updated_by": "alice",
                "updated_at": "2026-12-01T10:00:00Z",
                "reason": "first users",
            }
        },
        "ignored": {"max_items_per_order": "stored 0 is below 1"},
        "choosable_inventory_clients": ["local", "http", "shadow", "canary"],
        "fallback": {
            "at": "2026-12-01T10:05:00Z",
            "reason": "http error rate 0.5",
            "pending": True,
        },
    }
    served = Served([(200, healthy().text())], flags=(200, json.dumps(flags)))
    url = serve(served)

    _, out, _ = report(url, capsys, "--token", "T0K")
    assert "inventory_client = canary" in out
    assert "override canary_share = 5 by alice at 2026-12-01T10:00:00Z: first users" in out
    assert "ignored stored max_items_per_order: stored 0 is below 1" in out
    assert "inventory_client may be: local, http, shadow, canary" in out
    assert (
        "canary fallback holds since 2026-12-01T10:05:00Z"
        " (pending: its write is not in the store yet): http error rate 0.5" in out
    )
    assert served.authorizations == ["Bearer T0K"]
    _, out, _ = report(url, capsys, "--token", "T0K", "--json")
    assert json.loads(out)["flags"] == flags

    missing = serve(Served([(200, healthy().text())]))
    status, out, _ = report(missing, capsys, "--token", "T0K", "--json")
    assert status == 0
    assert "flags" not in json.loads(out)


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        pytest.param([(503, "down")], "answered 503", id="non-200"),
        pytest.param([(200, "<html>not metrics</html>")], "not Prometheus text", id="unparsable"),
        pytest.param(
            [(200, "# TYPE up gauge\nup 1\n")], "not an example service", id="another service"
        ),
        pytest.param(
            [(200, healthy().text()), (500, "")], "answered 500", id="second scrape fails"
        ),
    ],
)
def test_a_service_that_cannot_be_read_exits_2(
    serve: Callable[[Served], str],
    capsys: pytest.CaptureFixture[str],
    answers: Sequence[tuple[int, str]],
    message: str,
) -> None:
    url = serve(Served(list(answers)))

    status, out, err = report(url, capsys, "--window", "0.01")

    assert status == 2
    assert out == ""
    assert message in err


def test_connection_refused_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Bound and closed without listening: a connection there is refused.

    status, out, err = report(f"http://127.0.0.1:{port}", capsys)

    assert status == 2
    assert out == ""
    assert "cannot reach" in err
