"""The names the report reads come from the boundary's ``SeamMetrics``, as a scrape reports them."""

from dataclasses import replace

from prometheus_client import REGISTRY, generate_latest

from cutover.report.exposition import parse_exposition
from cutover.report.promql import check_expressions, sample_queries
from libs.cutover.tests.report.traffic import NAMES, SUBJECT


def test_the_families_read_are_the_ones_the_seam_metrics_export() -> None:
    exported = parse_exposition(generate_latest(REGISTRY).decode()).families

    assert set(NAMES.families) <= exported
    assert {NAMES.window_error_rate, NAMES.window_p95} <= exported
    assert NAMES.calls == "example_inventory_call_duration_seconds"
    assert NAMES.shadow_total == "example_inventory_shadow_comparisons_total"
    assert NAMES.canary_share == "example_flags_canary_share"


def test_queries_read_the_boundary_s_names_and_failed_outcomes() -> None:
    checks = check_expressions(NAMES)

    assert checks["http error rate"] == (
        "sum by (mode) (rate(example_inventory_call_duration_seconds_count"
        '{outcome=~"inventory_unavailable|error"}[5m]))'
        " / sum by (mode) (rate(example_inventory_call_duration_seconds_count[5m]))"
    )
    assert checks["canary fallback inactive"] == "max(example_canary_fallback_active)"
    assert sample_queries(NAMES, 60)[NAMES.routed_total] == (
        "sum by (mode, client) (increase(example_inventory_routed_total[60s]))"
    )


def test_the_service_is_named_with_its_article() -> None:
    assert SUBJECT.a_service == "an example service"
    assert replace(SUBJECT, service="payments").a_service == "a payments service"
