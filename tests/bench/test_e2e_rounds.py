"""The end-to-end bench's pairs: which rows take turns, and their ratios over rounds."""

import math

import pytest

from bench.e2e.analysis import (
    ANCHOR,
    BASE_APP,
    CANARY_ALL_LOCAL,
    PAIRS,
    TRACING,
    Round,
    Row,
    anchor_ratios,
    app_of,
    cpu_ratios,
    paired,
    pooled,
    ratios,
    row_cells,
    spread,
)
from bench.e2e.load import Cell
from bench.e2e.matrix import ANCHOR_ROWS, APPS, READ_APPS, WRITE_APPS
from bench.e2e.rounds import plan, round_lengths, settle_seconds, turn_order

LOCAL_READ = ("read", "local")
LOCAL_WRITE = ("write", "local")
SA_READ = (ANCHOR, "sa-read")


def _rows_by_app() -> dict[str, list[Row]]:
    """The rows each app serves, as the matrix builds its targets."""
    rows: dict[str, list[Row]] = {"ceiling": [("ceiling", "bare")]}
    rows[ANCHOR] = [(ANCHOR, name) for name in ANCHOR_ROWS]
    for name in (*READ_APPS, "naive"):
        rows.setdefault(name, []).append(("read", name))
    for name in WRITE_APPS:
        rows.setdefault(name, []).append(("write", name))
    return rows


def _cell(row: Row, rps: float, cpu: float | None = 1.0, c: int = 32, **extra: float) -> Cell:
    return Cell(
        row[0],
        row[1],
        c,
        seconds=extra.get("seconds", 1.0),
        requests=int(rps * extra.get("seconds", 1.0)),
        errors=int(extra.get("errors", 0)),
        rps=rps,
        p50_ms=extra.get("p50", 10.0),
        p95_ms=20.0,
        p99_ms=extra.get("p99", 25.0),
        max_ms=30.0,
        cpu_ms_per_req=cpu,
    )


def _rounds(group: int, top: Row, bottom: Row, figures: list[tuple[float, float]]) -> list[Round]:
    """Rounds of a two-row group: (top req/s, bottom req/s) per round, CPU inverse to req/s."""
    out: list[Round] = []
    for index, (a, b) in enumerate(figures):
        out.append(Round(group, index, _cell(top, a, cpu=1000 / a)))
        out.append(Round(group, index, _cell(bottom, b, cpu=1000 / b)))
    return out


def test_every_pair_has_a_local_row_on_one_side() -> None:
    for pair in PAIRS:
        assert BASE_APP in (app_of(pair.top), app_of(pair.bottom)), pair.name
        assert app_of(pair.top) != app_of(pair.bottom), pair.name


def test_the_anchor_and_local_give_the_local_anchor_pairs_in_one_session() -> None:
    schedule = plan(_rows_by_app(), [ANCHOR, "local"])

    assert [s.partner for s in schedule.sessions] == [ANCHOR]
    assert schedule.sessions[0].groups == (
        (LOCAL_READ, SA_READ, (ANCHOR, "pg-read")),
        (LOCAL_WRITE, (ANCHOR, "sa-write"), (ANCHOR, "pg-write")),
    )
    assert schedule.solo == {}


def test_apps_without_a_pair_between_them_run_alone() -> None:
    schedule = plan(_rows_by_app(), [ANCHOR, "http"])

    assert schedule.sessions == ()
    assert schedule.solo == {
        ANCHOR: tuple(_rows_by_app()[ANCHOR]),
        "http": tuple(_rows_by_app()["http"]),
    }


def test_a_full_run_pairs_every_pair_and_runs_only_ceiling_and_naive_alone() -> None:
    selected = list(APPS)
    schedule = plan(_rows_by_app(), selected)

    together = {
        (group[0], other) for s in schedule.sessions for group in s.groups for other in group[1:]
    }
    for pair in PAIRS:
        base, other = (
            (pair.top, pair.bottom) if app_of(pair.top) == BASE_APP else (pair.bottom, pair.top)
        )
        assert (base, other) in together, pair.name
    assert set(schedule.solo) == {"ceiling", "naive"}
    # Every session's groups start with a local row, the partner's rows after it.
    for session in schedule.sessions:
        for group in session.groups:
            assert app_of(group[0]) == BASE_APP
            assert {app_of(row) for row in group[1:]} == {session.partner}


def test_rounds_alternate_which_row_goes_first() -> None:
    assert [turn_order(2, i) for i in range(4)] == [[0, 1], [1, 0], [0, 1], [1, 0]]
    assert turn_order(3, 1) == [2, 1, 0]


@pytest.mark.parametrize(
    ("seconds", "rounds", "lengths"),
    [(3, 3, [1, 1, 1]), (4, 4, [1, 1, 1, 1]), (4, 3, [2, 1, 1]), (8, 4, [2, 2, 2, 2])],
)
def test_a_cell_splits_into_whole_second_rounds(
    seconds: float, rounds: int, lengths: list[int]
) -> None:
    assert round_lengths(seconds, rounds) == lengths
    assert sum(lengths) == seconds


@pytest.mark.parametrize(("seconds", "rounds"), [(2, 3), (3.5, 3), (4, 0)])
def test_a_split_wrk_cannot_run_is_refused(seconds: float, rounds: int) -> None:
    with pytest.raises(ValueError, match="whole seconds"):
        round_lengths(seconds, rounds)


def test_the_settle_waits_for_the_last_rounds_requests_in_flight_up_to_a_cap() -> None:
    assert settle_seconds(None) == pytest.approx(0.1)
    assert settle_seconds(_cell(LOCAL_READ, 100, p50=200.0)) == pytest.approx(0.3)
    assert settle_seconds(_cell(LOCAL_READ, 100, p50=5000.0)) == pytest.approx(1.1)


def test_the_spread_is_the_median_and_the_extremes_of_the_finite_values() -> None:
    assert spread([0.9, 0.5, 1.0]) == (0.9, 0.5, 1.0)
    assert spread([0.8, 1.0, 0.6, 0.9]) == (0.85, 0.6, 1.0)
    assert spread([0.7, math.nan]) == (0.7, 0.7, 0.7)
    assert all(math.isnan(v) for v in spread([]))


def test_a_pair_divides_its_rows_round_by_round() -> None:
    # The third round was disturbed for local only: its ratio is the outlier, not the median.
    rounds = _rounds(0, LOCAL_READ, SA_READ, [(80, 100), (90, 100), (40, 100)])

    (result,) = paired(rounds, [32])

    assert result["pair"] == "quote local / anchor SQLAlchemy read"
    assert result["rounds"] == 3
    assert result["rps_ratio_rounds"] == [0.8, 0.9, 0.4]
    assert result["rps_ratio"] == (0.8, 0.4, 0.9)
    # CPU per request is 1000 / req/s here, so capacity tracks req/s.
    assert result["cpu_capacity_ratio"] == (0.8, 0.4, 0.9)
    assert result["cpu_ms_ratio"][0] == pytest.approx(1.25)


def test_rounds_of_different_groups_are_never_divided_by_each_other() -> None:
    # local's read row in the anchor's group (0) and canary-0's (1): only group 1 pairs with canary.
    rounds = [
        *_rounds(0, LOCAL_READ, SA_READ, [(50, 100)]),
        *_rounds(1, ("read", CANARY_ALL_LOCAL), LOCAL_READ, [(90, 100), (95, 100)]),
    ]

    results = {r["pair"]: r for r in paired(rounds, [32])}

    assert results["quote canary 0 % / quote local"]["rps_ratio_rounds"] == [0.9, 0.95]
    assert results["quote local / anchor SQLAlchemy read"]["rps_ratio_rounds"] == [0.5]


def test_a_level_or_pair_not_measured_gives_no_result() -> None:
    rounds = _rounds(0, LOCAL_READ, SA_READ, [(80, 100)])

    assert paired(rounds, [8]) == []
    assert [r["pair"] for r in paired(rounds, [32])] == ["quote local / anchor SQLAlchemy read"]


def test_a_rows_rounds_pool_into_one_cell() -> None:
    cells = [
        _cell(LOCAL_WRITE, 100, cpu=2.0, p50=10.0, p99=30.0),
        _cell(LOCAL_WRITE, 300, cpu=4.0, p50=12.0, p99=90.0),
        _cell(LOCAL_WRITE, 200, cpu=3.0, p50=11.0, p99=40.0),
    ]

    cell = pooled(cells)

    assert (cell.requests, cell.seconds, cell.rps) == (600, 3.0, 200.0)
    # CPU per request weighted by requests; percentiles the median of the rounds'.
    assert cell.cpu_ms_per_req == pytest.approx((200 + 1200 + 600) / 600, abs=1e-3)
    assert (cell.p50_ms, cell.p99_ms) == (11.0, 40.0)
    assert cell.products_cpu_ms_per_req is None


def test_row_cells_pool_every_round_of_a_row_across_groups() -> None:
    rounds = [
        *_rounds(0, LOCAL_READ, SA_READ, [(100, 200)]),
        *_rounds(1, ("read", TRACING), LOCAL_READ, [(50, 300)]),
    ]

    cells = {(c.scenario, c.target): c for c in row_cells(rounds)}

    assert cells[LOCAL_READ].requests == 400
    assert cells[LOCAL_READ].seconds == 2.0
    assert set(cells) == {LOCAL_READ, SA_READ, ("read", TRACING)}


def test_the_checks_judge_the_paired_median_not_the_cells_measured_apart() -> None:
    rounds = _rounds(0, LOCAL_READ, SA_READ, [(80, 100), (85, 100), (40, 100)])
    # Pooled, the disturbed round drags local to 0.68 of the anchor; the median says 0.8.
    cells = row_cells(rounds)
    pairs = paired(rounds, [32])

    checks = {c["check"]: c for c in ratios(cells, [32], pairs)}
    cpu = {c["check"]: c for c in cpu_ratios(cells, [32], pairs)}

    check = checks["quote local / anchor SQLAlchemy read"]
    assert (check["value"], check["met"], check["basis"]) == (0.8, True, "paired")
    assert check["rounds"] == "0.40-0.85"
    assert cpu["quote local / anchor SQLAlchemy read (CPU)"]["value"] == 0.8


def test_an_unpaired_ratio_still_divides_the_cells() -> None:
    cells = [_cell(("read", "http"), 300), _cell(("read", "naive"), 10)]

    (check,) = [c for c in ratios(cells, [32]) if "naive" in c["check"]]

    assert (check["value"], check["basis"], check["rounds"]) == (30.0, "apart", "")
    assert check["met"] is False


def test_a_variant_reaches_the_anchor_through_locals_pairs() -> None:
    rounds = [
        *_rounds(0, LOCAL_READ, SA_READ, [(50, 100), (50, 100), (50, 100)]),
        *_rounds(1, ("read", TRACING), LOCAL_READ, [(80, 100), (80, 100), (80, 100)]),
    ]
    cells = row_cells(rounds)

    rows = {r["target"]: r for r in anchor_ratios(cells, paired(rounds, [32]))}

    assert (rows["local"]["vs_sqlalchemy"], rows["local"]["basis"]) == (0.5, "paired")
    assert (rows[TRACING]["vs_sqlalchemy"], rows[TRACING]["basis"]) == (0.4, "via local")
    assert math.isnan(rows["local"]["vs_asyncpg"])


def test_a_variants_cpu_check_is_its_cpu_per_request_over_locals() -> None:
    rounds = _rounds(0, ("write", TRACING), LOCAL_WRITE, [(50, 100), (60, 100), (40, 100)])

    cpu = {c["check"]: c for c in cpu_ratios(row_cells(rounds), [32], paired(rounds, [32]))}

    check = cpu["order tracing on / order tracing off: CPU ms/req ratio"]
    assert check["value"] == 2.0  # 1000/50 over 1000/100
    assert check["rounds"] == "1.67-2.50"
