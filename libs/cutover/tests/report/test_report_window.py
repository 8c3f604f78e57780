"""The cut-over figures over a window: two scrapes subtracted, a restart in between, the local path."""

import pytest
from prometheus_client import Gauge

from cutover.report.exposition import Snapshot, difference, parse_exposition
from cutover.report.names import PROCESS_START
from cutover.report.verdict import Evidence, Status, Thresholds, judge
from libs.cutover.tests.report.traffic import NAMES, UNAVAILABLE, Traffic, healthy

# --- window ----------------------------------------------------------------------------


def test_window_judges_only_the_difference_between_two_scrapes() -> None:
    traffic = healthy()
    earlier = parse_exposition(traffic.text())
    traffic.call("http", "lookup_products", 0.004, 10, outcome=UNAVAILABLE)
    traffic.call("http", "lookup_products", 0.004, 90)
    traffic.compared("lookup_products", "mismatch", 2)
    later = parse_exposition(traffic.text())

    since_start = Evidence.of(later, NAMES)
    window = Evidence.of(difference(later, earlier), NAMES)

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
    window = Evidence.of(snapshot, NAMES)

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
        Gauge(PROCESS_START, "start", registry=traffic.registry).set(started)
        return traffic.text()

    same = difference(parse_exposition(scrape(100.0)), parse_exposition(scrape(100.0)))
    restarted = difference(parse_exposition(scrape(200.0)), parse_exposition(scrape(100.0)))

    assert (same.restarted, restarted.restarted) == (False, True)
    assert Evidence.of(same, NAMES).errors == {}
    assert Evidence.of(restarted, NAMES).errors["http"].calls == 50


def test_a_trip_within_the_window_fails_the_fallback_check_and_an_older_one_does_not() -> None:
    traffic = healthy().canary(share=50, fallback_active=False, trips=1)
    earlier = parse_exposition(traffic.text())
    unchanged = difference(parse_exposition(traffic.text()), earlier)
    traffic.trips.inc()
    tripped = difference(parse_exposition(traffic.text()), earlier)

    def fallback_check(snapshot: Snapshot) -> tuple[Status, str]:
        checks = judge(Evidence.of(snapshot, NAMES), Thresholds(), span="over a 60 s window").checks
        check = next(c for c in checks if c.name == "canary fallback inactive")
        return check.status, check.reason

    assert fallback_check(unchanged) == (Status.PASS, "canary fallback inactive: yes")
    assert fallback_check(tripped) == (
        Status.FAIL,
        "canary fallback inactive: the fallback tripped 1 time(s) over a 60 s window"
        " (re-opened since); judge a --window after the re-opening",
    )


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
    comparison = Evidence.of(parse_exposition(traffic.text()), NAMES).latency

    assert comparison.local_series == ("local", "shadow")
    assert comparison.common_methods == ("lookup_products",)
    assert comparison.local.calls == 130
    assert comparison.http.calls == 120
