"""Ratios of the measured cells: against the targets, and against the anchor rows."""

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bench.e2e.load import Cell

# Targets are judged at this concurrency (or the highest measured, if it was not run);
# the other levels are shown for context.
TARGET_CONCURRENCY = 32
SAMPLED_SHADOW = "shadow-0.1"
# Variants of local mode: two worker processes, APP_EVENT_BUS=rabbitmq, tracing on.
WORKERS = "local-w2"
RABBITMQ = "local-rabbitmq"
TRACING = "local-tracing"
# Canary mode (both clients built, routed per user): nobody on http, half the users on http.
CANARY_ALL_LOCAL = "canary-0"
CANARY_HALF = "canary-50"
ANCHOR = "anchor"
# Which anchor row an orders scenario is compared with: (SQLAlchemy, raw asyncpg).
ANCHOR_ROWS = {"read": ("sa-read", "pg-read"), "write": ("sa-write", "pg-write")}
# Orders rows (scenario, target) whose tail is judged: p99 <= 3 x p50.
ORDERS_ROWS = (
    ("read", "local"),
    ("read", "http"),
    ("read", "shadow"),
    ("read", SAMPLED_SHADOW),
    ("write", "local"),
    ("write", "http"),
    ("read", WORKERS),
    ("write", WORKERS),
    ("write", RABBITMQ),
    ("read", TRACING),
    ("write", TRACING),
    ("read", CANARY_ALL_LOCAL),
    ("write", CANARY_ALL_LOCAL),
    ("read", CANARY_HALF),
    ("write", CANARY_HALF),
)
TAIL_LIMIT = 3.0


def find(cells: Sequence[Cell], scenario: str, target: str, concurrency: int) -> Cell | None:
    """The cell of one row at one concurrency, if it was measured."""
    for cell in cells:
        if (cell.scenario, cell.target, cell.concurrency) == (scenario, target, concurrency):
            return cell
    return None


def rps(cells: Sequence[Cell], scenario: str, target: str, concurrency: int) -> float:
    """Successful req/s of a row (0 when it was not measured)."""
    cell = find(cells, scenario, target, concurrency)
    return cell.rps if cell else 0.0


def judged_level(levels: Sequence[int]) -> int:
    """The concurrency at which the targets are judged."""
    return TARGET_CONCURRENCY if TARGET_CONCURRENCY in levels else max(levels)


def _ratio(a: float, b: float) -> float:
    return round(a / b, 3) if b else float("nan")


def _check(c: int, name: str, value: float, target: str, met: bool, judged: bool) -> dict[str, Any]:
    return {
        "concurrency": c,
        "check": name,
        "value": value,
        "target": target if judged else f"({target})",
        "met": met if judged else None,
    }


Row = tuple[str, str]  # (scenario, target): one row of the tables


@dataclass(frozen=True)
class Pair:
    """A ratio the report judges, ``top`` / ``bottom``, measured with the two rows taking turns."""

    name: str
    top: Row
    bottom: Row
    # Lower bound of the req/s ratio; None: reported for context, no target.
    bound: float | None = None
    # A setting's cost: the CPU check reports CPU ms/req, variant over default.
    variant: bool = False


# Every pair has a ``local`` row on one side (the anchor rows are compared with
# local, the variants with it), so the bench keeps orders-local up and brings
# each partner up next to it in turn.
BASE_APP = "local"
PAIRS = (
    Pair("quote local / anchor SQLAlchemy read", ("read", "local"), (ANCHOR, "sa-read"), 0.8),
    Pair("quote local / anchor asyncpg read", ("read", "local"), (ANCHOR, "pg-read")),
    Pair("order local / anchor SQLAlchemy write", ("write", "local"), (ANCHOR, "sa-write"), 0.5),
    Pair("order local / anchor asyncpg write", ("write", "local"), (ANCHOR, "pg-write")),
    Pair("quote http / quote local", ("read", "http"), ("read", "local"), 0.9),
    Pair("order http / order local", ("write", "http"), ("write", "local"), 0.9),
    Pair("quote shadow / quote local", ("read", "shadow"), ("read", "local"), 0.8),
    Pair("quote shadow-0.1 / quote local", ("read", SAMPLED_SHADOW), ("read", "local"), 0.8),
    # What a setting costs or buys (local = 1 worker, local event bus, tracing off:
    # the shipped defaults). canary 0 % serves everyone locally through the
    # per-request router: what the run-time switch costs.
    Pair("quote 2 workers / quote 1 worker", ("read", WORKERS), ("read", "local"), variant=True),
    Pair("order 2 workers / order 1 worker", ("write", WORKERS), ("write", "local"), variant=True),
    Pair(
        "order rabbitmq bus / order local bus",
        ("write", RABBITMQ),
        ("write", "local"),
        variant=True,
    ),
    Pair(
        "quote tracing on / quote tracing off", ("read", TRACING), ("read", "local"), variant=True
    ),
    Pair(
        "order tracing on / order tracing off", ("write", TRACING), ("write", "local"), variant=True
    ),
    Pair(
        "quote canary 0 % / quote local",
        ("read", CANARY_ALL_LOCAL),
        ("read", "local"),
        variant=True,
    ),
    Pair(
        "order canary 0 % / order local",
        ("write", CANARY_ALL_LOCAL),
        ("write", "local"),
        variant=True,
    ),
    Pair("quote canary 50 % / quote local", ("read", CANARY_HALF), ("read", "local"), variant=True),
    Pair(
        "order canary 50 % / order local", ("write", CANARY_HALF), ("write", "local"), variant=True
    ),
)
# Judged from cells measured apart: the per-call client is tens of times slower,
# so a disturbed stretch cannot move this ratio across its bound, and rounds of
# it would spend the run's time on a verdict that is not in doubt.
UNPAIRED = (Pair("quote http / quote naive", ("read", "http"), ("read", "naive"), 40.0),)


def app_of(row: Row) -> str:
    """The app that serves a row (the anchor's and the ceiling's rows are their own app's)."""
    scenario, target = row
    return scenario if scenario in (ANCHOR, "ceiling") else target


@dataclass(frozen=True)
class Round:
    """One row driven for one round of a paired measurement."""

    # One measurement of rows taking turns; a row (local's) is in many.
    group: int
    index: int
    cell: Cell


def spread(values: Sequence[float]) -> tuple[float, float, float]:
    """(median, min, max) of the finite values; NaN for all three when there are none."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return (math.nan, math.nan, math.nan)
    return (round(statistics.median(finite), 3), min(finite), max(finite))


def _cpu_ms(cell: Cell) -> float:
    return cell.cpu_ms_per_req or 0.0


def paired(rounds: Sequence[Round], levels: Sequence[int]) -> list[dict[str, Any]]:
    """Every pair's ratio round by round: its median and min-max over rounds, per concurrency.

    A round's ratio divides the two rows' figures of that round of the same
    group, so both sides come from the same few seconds of the machine.
    """
    results: list[dict[str, Any]] = []
    for c in levels:
        for pair in PAIRS:
            tops = _by_round(rounds, pair.top, c)
            bottoms = _by_round(rounds, pair.bottom, c)
            keys = sorted(tops.keys() & bottoms.keys())
            if not keys:
                continue  # not both apps measured (--apps), or not at this level
            by_rps = [_ratio(tops[k].rps, bottoms[k].rps) for k in keys]
            by_cpu = [_cpu_ratio(bottoms[k], tops[k]) for k in keys]
            by_ms = [_ratio(_cpu_ms(tops[k]), _cpu_ms(bottoms[k])) for k in keys]
            results.append(
                {
                    "concurrency": c,
                    "pair": pair.name,
                    "rounds": len(keys),
                    "rps_ratio": spread(by_rps),
                    "cpu_capacity_ratio": spread(by_cpu),
                    "cpu_ms_ratio": spread(by_ms),
                    "rps_ratio_rounds": by_rps,
                    "cpu_capacity_ratio_rounds": by_cpu,
                }
            )
    return results


def _by_round(rounds: Sequence[Round], row: Row, c: int) -> dict[tuple[int, int], Cell]:
    return {
        (r.group, r.index): r.cell
        for r in rounds
        if (r.cell.scenario, r.cell.target, r.cell.concurrency) == (*row, c)
    }


def pooled(cells: Sequence[Cell]) -> Cell:
    """One row's rounds at one concurrency as one cell.

    Counts and CPU add up over the rounds; latency percentiles cannot be merged
    from the rounds' own, so they are the median of the rounds' percentiles.
    """
    first = cells[0]
    ok = [max(1, c.requests - c.errors) for c in cells]
    seconds = sum(c.seconds for c in cells)

    def cpu(values: list[float | None]) -> float | None:
        if any(v is None for v in values):
            return None
        return round(sum((v or 0.0) * n for v, n in zip(values, ok, strict=True)) / sum(ok), 3)

    return Cell(
        scenario=first.scenario,
        target=first.target,
        concurrency=first.concurrency,
        seconds=round(seconds, 2),
        requests=sum(c.requests for c in cells),
        errors=sum(c.errors for c in cells),
        rps=round(sum(c.requests - c.errors for c in cells) / seconds, 1) if seconds else 0.0,
        p50_ms=statistics.median(c.p50_ms for c in cells),
        p95_ms=statistics.median(c.p95_ms for c in cells),
        p99_ms=statistics.median(c.p99_ms for c in cells),
        max_ms=max(c.max_ms for c in cells),
        cpu_ms_per_req=cpu([c.cpu_ms_per_req for c in cells]),
        products_cpu_ms_per_req=cpu([c.products_cpu_ms_per_req for c in cells]),
        machine_busy_pct=_busy([(c.machine_busy_pct, c.seconds) for c in cells]),
    )


def _busy(rounds: list[tuple[float | None, float]]) -> float | None:
    """The machine's busy share over rounds, weighted by their length."""
    if not rounds or any(pct is None for pct, _ in rounds):
        return None
    seconds = sum(s for _, s in rounds) or 1.0
    return round(sum((pct or 0.0) * s for pct, s in rounds) / seconds, 1)


def row_cells(rounds: Sequence[Round]) -> list[Cell]:
    """Every row measured in rounds as one cell per concurrency (all its rounds pooled)."""
    rows: dict[tuple[str, str, int], list[Cell]] = {}
    for r in rounds:
        rows.setdefault((r.cell.scenario, r.cell.target, r.cell.concurrency), []).append(r.cell)
    return [pooled(cells) for cells in rows.values()]


def _paired_value(
    pairs: Sequence[dict[str, Any]], name: str, c: int, key: str
) -> tuple[float, float, float] | None:
    for result in pairs:
        if (result["pair"], result["concurrency"]) == (name, c):
            value: tuple[float, float, float] = result[key]
            return value
    return None


def _judged_pairs() -> tuple[Pair, ...]:
    """Targets first, then the context rows (the order of the checks table)."""
    with_bound = [p for p in (*PAIRS, *UNPAIRED) if p.bound is not None]
    return (*with_bound, *(p for p in PAIRS if p.bound is None))


def _spread_text(lo: float, hi: float) -> str:
    return f"{lo:.2f}-{hi:.2f}"


def _pair_check(
    c: int,
    name: str,
    got: tuple[float, float, float] | None,
    apart: float | None,
    bound: float | None,
    judged: bool,
) -> dict[str, Any] | None:
    """A check from the pair's median over rounds, else (unpaired) from cells measured apart."""
    if got is not None:
        value, lo, hi = got
        basis, rounds = "paired", _spread_text(lo, hi)
    elif apart is not None:
        value, basis, rounds = apart, "apart", ""
    else:
        return None  # a run of some apps (--apps): no verdict on rows it did not measure
    if bound is None:
        check = _check(c, name, value, "", True, False) | {"target": ""}
    else:
        check = _check(c, name, value, f">= {bound:g}", value >= bound, judged)
    return check | {"basis": basis, "rounds": rounds}


def ratios(
    cells: Sequence[Cell], levels: Sequence[int], pairs: Sequence[dict[str, Any]] = ()
) -> list[dict[str, Any]]:
    """Throughput ratios and the tail check against the targets, per concurrency.

    A ratio measured in rounds (``pairs``, from ``paired``) is judged on its
    median over rounds; the others on the two rows' cells.
    """
    judged_at = judged_level(levels)
    checks: list[dict[str, Any]] = []
    for c in levels:
        judged = c == judged_at
        for pair in _judged_pairs():
            top, bottom = find(cells, *pair.top, c), find(cells, *pair.bottom, c)
            apart = _ratio(top.rps, bottom.rps) if top and bottom else None
            got = _paired_value(pairs, pair.name, c, "rps_ratio")
            check = _pair_check(c, pair.name, got, apart, pair.bound, judged)
            if check is not None:
                checks.append(check)
        for scenario, target in ORDERS_ROWS:
            cell = find(cells, scenario, target, c)
            if cell is None:
                continue
            value = _ratio(cell.p99_ms, cell.p50_ms)
            name = f"{scenario} {target}: p99 / p50"
            checks.append(_check(c, name, value, f"<= {TAIL_LIMIT:g}", value <= TAIL_LIMIT, judged))
    return checks


def _pair_between(top: Row, bottom: Row) -> Pair | None:
    return next((p for p in PAIRS if (p.top, p.bottom) == (top, bottom)), None)


def _versus_anchor(
    cells: Sequence[Cell],
    pairs: Sequence[dict[str, Any]],
    cell: Cell,
    anchor: Row,
    key: str,
) -> tuple[float, str]:
    """A row over an anchor row: paired, or chained through local's pairs, or from cells apart."""
    row, c = (cell.scenario, cell.target), cell.concurrency
    local = (cell.scenario, BASE_APP)
    direct = _pair_between(row, anchor)
    got = _paired_value(pairs, direct.name, c, key) if direct else None
    if got is not None:
        return got[0], "paired"
    to_local, local_to_anchor = _pair_between(row, local), _pair_between(local, anchor)
    if to_local and local_to_anchor:
        first = _paired_value(pairs, to_local.name, c, key)
        second = _paired_value(pairs, local_to_anchor.name, c, key)
        if first is not None and second is not None:
            return round(first[0] * second[0], 3), "via local"
    reference = find(cells, *anchor, c)
    if reference is None:
        return float("nan"), ""
    if key == "rps_ratio":
        return _ratio(cell.rps, reference.rps), "apart"
    return _cpu_ratio(reference, cell), "apart"


def anchor_ratios(
    cells: Sequence[Cell], pairs: Sequence[dict[str, Any]] = ()
) -> list[dict[str, Any]]:
    """Every orders row as a ratio to the matching anchor rows at the same concurrency.

    Local's rows are paired with the anchor's; a variant's ratio is its pair with
    local times local's pair with the anchor ("via local"); the rest (naive, or a
    run without local) divide cells measured apart.
    """
    rows: list[dict[str, Any]] = []
    for cell in cells:
        if cell.scenario not in ANCHOR_ROWS:
            continue
        sa, pg = ((ANCHOR, row) for row in ANCHOR_ROWS[cell.scenario])
        vs_sa, basis = _versus_anchor(cells, pairs, cell, sa, "rps_ratio")
        vs_pg, _ = _versus_anchor(cells, pairs, cell, pg, "rps_ratio")
        cpu_vs_sa, _ = _versus_anchor(cells, pairs, cell, sa, "cpu_capacity_ratio")
        rows.append(
            {
                "scenario": cell.scenario,
                "target": cell.target,
                "concurrency": cell.concurrency,
                "rps": cell.rps,
                "vs_sqlalchemy": vs_sa,
                "vs_asyncpg": vs_pg,
                "cpu_vs_sqlalchemy": cpu_vs_sa,
                "basis": basis,
            }
        )
    return rows


def core_capacity(cell: Cell | None) -> float:
    """req/s if each process of the path had one core to itself: 1 / busiest process's CPU."""
    if cell is None or not cell.cpu_ms_per_req:
        return 0.0
    busiest = max(cell.cpu_ms_per_req, cell.products_cpu_ms_per_req or 0.0)
    return 1000 / busiest


def _cpu_ratio(reference: Cell | None, cell: Cell) -> float:
    """How ``cell``'s capacity from CPU per request compares with ``reference``'s."""
    return _ratio(core_capacity(cell), core_capacity(reference))


def cpu_ratios(
    cells: Sequence[Cell], levels: Sequence[int], pairs: Sequence[dict[str, Any]] = ()
) -> list[dict[str, Any]]:
    """The throughput targets again, from CPU per request instead of measured req/s.

    On a shared machine measured req/s follows the share of a core each process
    got while its cells ran; CPU time per request does not. Capacity assumes a
    core per process (orders, products), which is how the services deploy.
    A setting's cost (a variant pair) is its CPU ms/req over local's instead.
    """
    judged_at = judged_level(levels)
    rows: list[dict[str, Any]] = []
    for c in levels:
        for pair in _judged_pairs():
            top, bottom = find(cells, *pair.top, c), find(cells, *pair.bottom, c)
            if pair.variant:
                # CPU per request, variant over default: 1.10 = the setting costs 10 % more CPU.
                label = f"{pair.name}: CPU ms/req ratio"
                key = "cpu_ms_ratio"
                apart = (
                    _ratio(_cpu_ms(top), _cpu_ms(bottom))
                    if top and bottom and top.cpu_ms_per_req and bottom.cpu_ms_per_req
                    else None
                )
                bound = None
            else:
                label, key, bound = f"{pair.name} (CPU)", "cpu_capacity_ratio", pair.bound
                apart = _cpu_ratio(bottom, top) if top and bottom else None
            got = _paired_value(pairs, pair.name, c, key)
            check = _pair_check(c, label, got, apart, bound, c == judged_at)
            if check is not None:
                rows.append(check)
    return rows
