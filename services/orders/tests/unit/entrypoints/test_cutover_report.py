"""``orders cutover report`` on synthetic exposition text: figures, checks, verdict, exit status.

The exposition is produced by prometheus-client itself, from a registry with the
same metric names, labels and buckets as orders' (so the parser sees what a
scrape of orders returns), and served by a small HTTP server on a free port.
"""

import json
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from orders.entrypoints.cli import main
from orders.entrypoints.cutover import names
from orders.entrypoints.cutover.evidence import latency
from orders.entrypoints.cutover.exposition import (
    Snapshot,
    difference,
    histogram_quantile,
    parse_exposition,
)
from orders.entrypoints.cutover.verdict import Evidence, Status, Thresholds, judge

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
INF = float("inf")


@dataclass
class Traffic:
    """What a synthetic orders process observed; ``text()`` is its /metrics."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.calls = Histogram(
            names.CALLS,
            "calls",
            ["mode", "method", "outcome"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.shadow = Counter(
            names.SHADOW,
            "shadow",
            ["method", "result"],
            registry=self.registry,
        )

    def call(
        self,
        mode: str,
        method: str,
        seconds: float,
        times: int = 1,
        outcome: str = "ok",
    ) -> "Traffic":
        for _ in range(times):
            self.calls.labels(mode, method, outcome).observe(seconds)
        return self

    def compared(self, method: str, result: str, times: int) -> "Traffic":
        self.shadow.labels(method, result).inc(times)
        return self

    def canary(self, *, share: float, fallback_active: bool, trips: int) -> "Traffic":
        Gauge(names.CANARY_SHARE, "share", registry=self.registry).set(share)
        Gauge(names.FALLBACK_ACTIVE, "active", registry=self.registry).set(
            1 if fallback_active else 0
        )
        self.trips = Counter(names.FALLBACK_TRIPS, "trips", registry=self.registry)
        self.trips.inc(trips)
        routed = Counter(names.ROUTED, "routed", ["mode", "client"], registry=self.registry)
        routed.labels("canary", "http").inc(30)
        routed.labels("canary", "local").inc(70)
        return self

    def text(self) -> str:
        return generate_latest(self.registry).decode()


def healthy() -> Traffic:
    """Shadow evidence and canary-mode calls a healthy http path produces."""
    return (
        Traffic()
        .compared("lookup_products", "match", 150)
        .compared("get_product", "match", 50)
        .compared("lookup_products", "sampled_out", 400)
        .call("local", "lookup_products", 0.002, 150)
        .call("local", "reserve", 0.008, 50)
        .call("http", "lookup_products", 0.004, 150)
        .call("http", "reserve", 0.02, 50)
        # A domain answer is the contract working, not an error.
        .call("http", "reserve", 0.02, 5, outcome="insufficient_stock")
    )


def verdict_of(traffic: Traffic, thresholds: Thresholds | None = None) -> dict[str, Status]:
    evidence = Evidence.of(parse_exposition(traffic.text()))
    return {
        check.name: check.status for check in judge(evidence, thresholds or Thresholds()).checks
    }


# --- quantiles -------------------------------------------------------------------------


def test_quantile_interpolates_inside_the_bucket_like_histogram_quantile() -> None:
    # 10 in (0, 1 ms], 20 in (1, 2.5], 60 in (2.5, 5], 10 in (5, 10]; cumulative below.
    buckets = [(0.001, 10.0), (0.0025, 30.0), (0.005, 90.0), (0.01, 100.0), (INF, 100.0)]

    # p50: rank 50 is the 20th of 60 in (2.5, 5] ms -> 2.5 + 2.5 * 20/60
    assert histogram_quantile(0.5, buckets) == pytest.approx(0.0025 + 0.0025 * 20 / 60)
    # p95: rank 95 is the 5th of 10 in (5, 10] ms -> 7.5 ms
    assert histogram_quantile(0.95, buckets) == pytest.approx(0.0075)
    # p99: 9 of 10 -> 9.5 ms
    assert histogram_quantile(0.99, buckets) == pytest.approx(0.0095)
    # The first bucket starts at 0: rank 5 of 10 in (0, 1] ms -> 0.5 ms
    assert histogram_quantile(0.05, buckets) == pytest.approx(0.0005)


def test_quantile_in_the_inf_bucket_is_the_highest_finite_bound() -> None:
    buckets = [(0.1, 1.0), (1.0, 2.0), (INF, 10.0)]

    assert histogram_quantile(0.5, buckets) == 1.0


def test_quantile_of_no_observations_or_no_inf_bucket_is_unknown() -> None:
    assert histogram_quantile(0.5, [(0.1, 0.0), (INF, 0.0)]) is None
    assert histogram_quantile(0.5, [(0.1, 3.0), (1.0, 4.0)]) is None


def test_latency_sums_the_buckets_of_the_chosen_methods_before_interpolating() -> None:
    traffic = Traffic().call("http", "get_product", 0.002, 10).call("http", "reserve", 0.04, 10)
    snapshot = parse_exposition(traffic.text())

    both = latency(snapshot, "http")
    reads = latency(snapshot, "http", ["get_product"])

    assert both.calls == 20
    # rank 10 of 20: the last of the 10 in (1, 2.5] ms -> 2.5 ms
    assert both.percentiles[0.5] == pytest.approx(0.0025)
    # rank 19: the 9th of 10 in (25, 50] ms
    assert both.percentiles[0.95] == pytest.approx(0.025 + 0.025 * 9 / 10)
    assert reads.calls == 10
    assert reads.percentiles[0.99] == pytest.approx(0.001 + 0.0015 * 9.9 / 10)


# --- checks and verdict ----------------------------------------------------------------


def test_healthy_evidence_is_go() -> None:
    statuses = verdict_of(healthy())

    assert set(statuses.values()) == {Status.PASS}, statuses


def test_ratio_compares_only_the_methods_both_paths_served() -> None:
    # Shadow mode: http mirrors reads only; the local answers are mode="shadow".
    traffic = (
        Traffic()
        .call("shadow", "lookup_products", 0.002, 120)
        .call("shadow", "reserve", 0.2, 120)
        .call("http", "lookup_products", 0.004, 120)
    )
    comparison = Evidence.of(parse_exposition(traffic.text())).latency

    assert comparison.local_series == ("shadow",)
    assert comparison.common_methods == ("lookup_products",)
    assert comparison.local.calls == 120
    # 2 ms and 4 ms land in (1, 2.5] and (2.5, 5]: p95 1 + 1.5 * .95 vs 2.5 + 2.5 * .95
    assert comparison.ratios[0.95] == pytest.approx(
        (0.0025 + 0.0025 * 0.95) / (0.001 + 0.0015 * 0.95)
    )


@pytest.mark.parametrize(
    ("traffic", "failing"),
    [
        pytest.param(
            healthy().compared("get_product", "mismatch", 1),
            {"shadow mismatch rate"},
            id="a mismatch in 201 comparisons",
        ),
        pytest.param(
            healthy().compared("get_product", "settled", 12),
            {"shadow settled rate"},
            id="settled in 12 of 212 comparisons, above the loose maximum",
        ),
        pytest.param(
            healthy().compared("lookup_products", "candidate_timeout", 3),
            {"shadow candidate failure rate"},
            id="candidate timeouts",
        ),
        pytest.param(
            healthy().call("http", "lookup_products", 0.004, 3, outcome="products_unavailable"),
            {"http error rate"},
            id="products unavailable",
        ),
        pytest.param(
            healthy().call("http", "reserve", 0.02, 3, outcome="error"),
            {"http error rate"},
            id="unexpected errors",
        ),
        pytest.param(
            healthy().call("http", "lookup_products", 0.3, 40),
            {"latency p95 http/local", "latency p99 http/local"},
            id="a slow tail",
        ),
        pytest.param(
            healthy().call("http", "lookup_products", 0.2, 3),
            {"latency p99 http/local"},
            id="a slow p99 only",
        ),
        pytest.param(
            healthy().canary(share=50, fallback_active=True, trips=1),
            {"canary fallback inactive"},
            id="fallback active",
        ),
        pytest.param(
            healthy().canary(share=50, fallback_active=False, trips=1),
            {"canary fallback inactive"},
            id="fallback tripped, re-opened since",
        ),
    ],
)
def test_each_reason_for_no_go_fails_its_own_check(traffic: Traffic, failing: set[str]) -> None:
    statuses = verdict_of(traffic)

    assert {name for name, status in statuses.items() if status is Status.FAIL} == failing
    assert {name for name, status in statuses.items() if status is Status.PASS} == (
        set(statuses) - failing
    )


def test_too_few_samples_is_insufficient_data_not_a_pass() -> None:
    traffic = (
        Traffic()
        .compared("lookup_products", "match", 99)
        .call("local", "lookup_products", 0.002, 150)
        .call("http", "lookup_products", 0.004, 99)
    )

    statuses = verdict_of(traffic)

    assert statuses == {
        "shadow mismatch rate": Status.INSUFFICIENT,
        "shadow settled rate": Status.INSUFFICIENT,
        "shadow candidate failure rate": Status.INSUFFICIENT,
        "http error rate": Status.INSUFFICIENT,
        "latency p95 http/local": Status.INSUFFICIENT,
        "latency p99 http/local": Status.INSUFFICIENT,
        "canary fallback inactive": Status.PASS,
    }
    # Asking for fewer samples turns the same evidence into a verdict.
    fewer = Thresholds(min_shadow_samples=50, min_http_calls=50, min_local_calls=50)
    assert set(verdict_of(traffic, fewer).values()) == {Status.PASS}


def test_settled_comparisons_without_a_mismatch_are_go() -> None:
    # A real shadow run with orders flowing: 4 of 500 reads raced a reservation and
    # a re-read agreed. Before re-reads these four were mismatches, and NO-GO.
    traffic = (
        healthy()
        .compared("lookup_products", "match", 148)
        .compared("check_stock", "match", 98)
        .compared("get_product", "match", 50)
        .compared("lookup_products", "settled", 2)
        .compared("check_stock", "settled", 2)
    )
    evidence = Evidence.of(parse_exposition(traffic.text()))

    verdict = judge(evidence, Thresholds())

    assert verdict.go, verdict.reasons
    checks = {check.name: check for check in verdict.checks}
    # settled is agreement for the mismatch rate, and part of its sample size ...
    assert checks["shadow mismatch rate"].value == 0
    assert checks["shadow mismatch rate"].samples == 500
    # ... and has its own figure, by method as well.
    assert checks["shadow settled rate"].value == pytest.approx(4 / 500)
    assert checks["shadow settled rate"].samples == 500
    assert evidence.shadow["check_stock"].settled_rate == pytest.approx(0.02)
    assert evidence.shadow["get_product"].settled_rate == 0


def test_settled_counts_as_agreement_in_the_mismatch_rate() -> None:
    # 1 mismatch in 150 + 50 + 1 comparisons fails a maximum of 0.004 ...
    failing = healthy().compared("get_product", "mismatch", 1)
    assert verdict_of(failing, Thresholds(max_mismatch_rate=0.004))["shadow mismatch rate"] is (
        Status.FAIL
    )
    # ... 1 in 301 passes: the 100 settled comparisons are agreements.
    settling = failing.compared("get_product", "settled", 100)
    statuses = verdict_of(settling, Thresholds(max_mismatch_rate=0.004, max_settled_rate=0.5))
    assert statuses["shadow mismatch rate"] is Status.PASS
    assert statuses["shadow settled rate"] is Status.PASS
    evidence = Evidence.of(parse_exposition(settling.text()))
    assert evidence.shadow["get_product"].mismatch_rate == pytest.approx(1 / 151)


def test_a_settled_rate_above_its_maximum_names_the_methods() -> None:
    traffic = healthy().compared("get_product", "settled", 12)

    verdict = judge(Evidence.of(parse_exposition(traffic.text())), Thresholds())

    assert not verdict.go
    [reason] = verdict.reasons
    assert reason.startswith("shadow settled rate: 0.0566 > 0.05 (get_product 12/62)")
    loose = judge(Evidence.of(parse_exposition(traffic.text())), Thresholds(max_settled_rate=0.06))
    assert loose.go, loose.reasons


def test_min_samples_zero_accepts_no_shadow_evidence() -> None:
    traffic = Traffic().call("local", "reserve", 0.01, 150).call("http", "reserve", 0.02, 150)

    assert verdict_of(traffic)["shadow mismatch rate"] is Status.INSUFFICIENT
    lenient = verdict_of(traffic, Thresholds(min_shadow_samples=0))
    assert set(lenient.values()) == {Status.PASS}


def test_thresholds_are_held_as_given() -> None:
    traffic = healthy().compared("get_product", "mismatch", 1)  # 1 / 201

    assert verdict_of(traffic, Thresholds(max_mismatch_rate=0.005))["shadow mismatch rate"] is (
        Status.PASS
    )
    assert verdict_of(traffic, Thresholds(max_mismatch_rate=0.004))["shadow mismatch rate"] is (
        Status.FAIL
    )


# --- window ----------------------------------------------------------------------------


def test_window_judges_only_the_difference_between_two_scrapes() -> None:
    traffic = healthy()
    earlier = parse_exposition(traffic.text())
    traffic.call("http", "lookup_products", 0.004, 10, outcome="products_unavailable")
    traffic.call("http", "lookup_products", 0.004, 90)
    traffic.compared("lookup_products", "mismatch", 2)
    later = parse_exposition(traffic.text())

    since_start = Evidence.of(later)
    window = Evidence.of(difference(later, earlier))

    assert since_start.errors["http"].calls == 305
    assert window.errors["http"].calls == 100
    assert window.errors["http"].errors == 10
    assert window.shadow["lookup_products"].mismatch == 2
    assert window.shadow["lookup_products"].match == 0
    http, local, _ = window.latency.by_method["lookup_products"]
    assert (http.calls, local.calls) == (100, 0)
    # No local calls in the window: nothing to compare the http latency with.
    assert window.latency.common_methods == ()
    checks = {check.name: check for check in judge(window, Thresholds()).checks}
    assert checks["latency p95 http/local"].status is Status.INSUFFICIENT
    assert checks["http error rate"].status is Status.FAIL
    assert checks["http error rate"].value == pytest.approx(0.1)


def test_a_restart_during_the_window_makes_the_later_scrape_alone_the_window() -> None:
    # 50 fast calls before; the process restarts and makes 60 slower ones. Per
    # series, the low buckets went down (reset) and the high ones up (not reset):
    # subtracting some and not others would count 10 calls, all in the wrong place.
    before = (
        Traffic()
        .call("http", "get_product", 0.0008, 50)
        .canary(share=5, fallback_active=False, trips=0)
    )
    after = (
        Traffic()
        .call("http", "get_product", 0.004, 60)
        .canary(share=50, fallback_active=True, trips=1)
    )

    snapshot = difference(parse_exposition(after.text()), parse_exposition(before.text()))
    window = Evidence.of(snapshot)

    assert snapshot.restarted
    assert window.errors["http"].calls == 60
    http, _, _ = window.latency.by_method["get_product"]
    assert http.percentiles[0.5] == pytest.approx(0.0025 + 0.0025 * 30 / 60)
    assert window.canary.share == 50
    assert window.canary.fallback_active is True
    assert window.canary.fallback_trips == 1
    assert window.canary.routed == {("canary", "http"): 30, ("canary", "local"): 70}


def test_a_changed_process_start_time_is_a_restart() -> None:
    def scrape(started: float) -> str:
        traffic = Traffic().call("http", "get_product", 0.004, 50)
        Gauge(names.PROCESS_START, "start", registry=traffic.registry).set(started)
        return traffic.text()

    same = difference(parse_exposition(scrape(100.0)), parse_exposition(scrape(100.0)))
    restarted = difference(parse_exposition(scrape(200.0)), parse_exposition(scrape(100.0)))

    assert (same.restarted, restarted.restarted) == (False, True)
    assert Evidence.of(same).errors == {}
    assert Evidence.of(restarted).errors["http"].calls == 50


def test_a_trip_within_the_window_fails_the_fallback_check_and_an_older_one_does_not() -> None:
    traffic = healthy().canary(share=50, fallback_active=False, trips=1)
    earlier = parse_exposition(traffic.text())
    unchanged = difference(parse_exposition(traffic.text()), earlier)
    traffic.trips.inc()
    tripped = difference(parse_exposition(traffic.text()), earlier)

    def fallback_check(snapshot: Snapshot) -> tuple[Status, str]:
        checks = judge(Evidence.of(snapshot), Thresholds(), span="over a 60 s window").checks
        check = next(c for c in checks if c.name == "canary fallback inactive")
        return check.status, check.reason

    assert fallback_check(unchanged) == (Status.PASS, "canary fallback inactive: yes")
    assert fallback_check(tripped) == (
        Status.FAIL,
        "canary fallback inactive: the fallback tripped 1 time(s) over a 60 s window"
        " (re-opened since); judge a --window after the re-opening",
    )


# --- the command -----------------------------------------------------------------------


@dataclass
class Served:
    """What the fake service answers: /metrics in turn, and the admin flags."""

    metrics: list[tuple[int, str]]
    flags: tuple[int, str] = (404, "{}")
    authorizations: list[str | None] = field(default_factory=list)

    def answer(self, path: str, authorization: str | None) -> tuple[int, str]:
        if path == "/metrics":
            return self.metrics.pop(0) if len(self.metrics) > 1 else self.metrics[0]
        if path == "/api/v1/admin/flags":
            self.authorizations.append(authorization)
            return self.flags
        return 404, "{}"


@pytest.fixture
def serve() -> Iterator[Callable[[Served], str]]:
    """Serve a ``Served`` on 127.0.0.1 (a free port the OS picks); its base URL."""
    servers: list[ThreadingHTTPServer] = []

    def start(served: Served) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, body = served.answer(self.path, self.headers.get("Authorization"))
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def report(url: str, capsys: pytest.CaptureFixture[str], *options: str) -> tuple[int, str, str]:
    status = main(["cutover", "report", "--url", url, *options])
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
    traffic.call("http", "lookup_products", 0.004, 5, outcome="products_unavailable")
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
        "effective": {"products_client": "canary", "canary_share": 5},
        "overrides": {
            "canary_share": {
                "value": 5,
                "updated_by": "alice",
                "updated_at": "2026-12-01T10:00:00Z",
                "reason": "first users",
            }
        },
        "ignored": {"max_items_per_order": "stored 0 is below 1"},
        "choosable_products_clients": ["local", "http", "shadow", "canary"],
        "fallback": {
            "at": "2026-12-01T10:05:00Z",
            "reason": "http error rate 0.5",
            "pending": True,
        },
    }
    served = Served([(200, healthy().text())], flags=(200, json.dumps(flags)))
    url = serve(served)

    _, out, _ = report(url, capsys, "--token", "T0K")
    assert "products_client = canary" in out
    assert "override canary_share = 5 by alice at 2026-12-01T10:00:00Z: first users" in out
    assert "ignored stored max_items_per_order: stored 0 is below 1" in out
    assert "products_client may be: local, http, shadow, canary" in out
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
            [(200, "# TYPE up gauge\nup 1\n")], "not an orders service", id="another service"
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


def test_local_path_is_the_local_and_the_shadow_series_together() -> None:
    # Shadow mode with background work: the reconciler's confirms use the local
    # client itself (mode="local"), request reads go through the shadow client.
    traffic = (
        Traffic()
        .call("shadow", "lookup_products", 0.002, 120)
        .call("local", "confirm", 0.01, 5)
        .call("local", "lookup_products", 0.002, 10)
        .call("http", "lookup_products", 0.004, 120)
    )
    comparison = Evidence.of(parse_exposition(traffic.text())).latency

    assert comparison.local_series == ("local", "shadow")
    assert comparison.common_methods == ("lookup_products",)
    assert comparison.local.calls == 130
    assert comparison.http.calls == 120
