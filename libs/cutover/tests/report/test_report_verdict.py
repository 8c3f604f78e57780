"""The cut-over figures, checks and verdict on synthetic exposition text of an example boundary."""

import pytest

from cutover.report.evidence import latency
from cutover.report.exposition import histogram_quantile, parse_exposition
from cutover.report.verdict import Evidence, Status, Thresholds, judge
from libs.cutover.tests.report.traffic import NAMES, UNAVAILABLE, Traffic, healthy, verdict_of

INF = float("inf")


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

    both = latency(snapshot, NAMES, "http")
    reads = latency(snapshot, NAMES, "http", ["get_product"])

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
    comparison = Evidence.of(parse_exposition(traffic.text()), NAMES).latency

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
            healthy().call("http", "lookup_products", 0.004, 3, outcome=UNAVAILABLE),
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
    evidence = Evidence.of(parse_exposition(traffic.text()), NAMES)

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
    evidence = Evidence.of(parse_exposition(settling.text()), NAMES)
    assert evidence.shadow["get_product"].mismatch_rate == pytest.approx(1 / 151)


def test_a_settled_rate_above_its_maximum_names_the_methods() -> None:
    traffic = healthy().compared("get_product", "settled", 12)

    verdict = judge(Evidence.of(parse_exposition(traffic.text()), NAMES), Thresholds())

    assert not verdict.go
    [reason] = verdict.reasons
    assert reason.startswith("shadow settled rate: 0.0566 > 0.05 (get_product 12/62)")
    loose = judge(
        Evidence.of(parse_exposition(traffic.text()), NAMES), Thresholds(max_settled_rate=0.06)
    )
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
