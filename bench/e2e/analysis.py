"""Ratios of the measured cells: against the targets, and against the anchor rows."""

from collections.abc import Sequence
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


# (name, numerator row, denominator row, lower bound)
_THROUGHPUT_PAIRS = (
    ("quote local / anchor SQLAlchemy read", ("read", "local"), (ANCHOR, "sa-read"), 0.8),
    ("order local / anchor SQLAlchemy write", ("write", "local"), (ANCHOR, "sa-write"), 0.5),
    ("quote http / quote local", ("read", "http"), ("read", "local"), 0.9),
    ("order http / order local", ("write", "http"), ("write", "local"), 0.9),
    ("quote shadow / quote local", ("read", "shadow"), ("read", "local"), 0.8),
    ("quote shadow-0.1 / quote local", ("read", SAMPLED_SHADOW), ("read", "local"), 0.8),
    ("quote http / quote naive", ("read", "http"), ("read", "naive"), 40.0),
)
# Ratios reported without a target: what a setting costs or buys (local = 1 worker,
# local event bus, tracing off: the shipped defaults). canary 0 % serves everyone
# locally through the per-request router: what the run-time switch costs.
_VARIANT_PAIRS = (
    ("quote 2 workers / quote 1 worker", ("read", WORKERS), ("read", "local")),
    ("order 2 workers / order 1 worker", ("write", WORKERS), ("write", "local")),
    ("order rabbitmq bus / order local bus", ("write", RABBITMQ), ("write", "local")),
    ("quote tracing on / quote tracing off", ("read", TRACING), ("read", "local")),
    ("order tracing on / order tracing off", ("write", TRACING), ("write", "local")),
    ("quote canary 0 % / quote local", ("read", CANARY_ALL_LOCAL), ("read", "local")),
    ("order canary 0 % / order local", ("write", CANARY_ALL_LOCAL), ("write", "local")),
    ("quote canary 50 % / quote local", ("read", CANARY_HALF), ("read", "local")),
    ("order canary 50 % / order local", ("write", CANARY_HALF), ("write", "local")),
)


def ratios(cells: Sequence[Cell], levels: Sequence[int]) -> list[dict[str, Any]]:
    """Throughput ratios and the tail check against the targets, per concurrency."""
    judged_at = judged_level(levels)
    checks: list[dict[str, Any]] = []
    for c in levels:
        judged = c == judged_at
        for name, top, bottom, bound in _THROUGHPUT_PAIRS:
            if find(cells, *top, c) is None or find(cells, *bottom, c) is None:
                continue  # a run of some apps (--apps): no verdict on rows it did not measure
            value = _ratio(rps(cells, *top, c), rps(cells, *bottom, c))
            checks.append(_check(c, name, value, f">= {bound:g}", value >= bound, judged))
        for name, top, bottom in _VARIANT_PAIRS:
            if find(cells, *top, c) is None or find(cells, *bottom, c) is None:
                continue
            value = _ratio(rps(cells, *top, c), rps(cells, *bottom, c))
            checks.append(_check(c, name, value, "no target", True, False) | {"target": ""})
        for scenario, target in ORDERS_ROWS:
            cell = find(cells, scenario, target, c)
            if cell is None:
                continue
            value = _ratio(cell.p99_ms, cell.p50_ms)
            name = f"{scenario} {target}: p99 / p50"
            checks.append(_check(c, name, value, f"<= {TAIL_LIMIT:g}", value <= TAIL_LIMIT, judged))
    return checks


def anchor_ratios(cells: Sequence[Cell]) -> list[dict[str, Any]]:
    """Every orders row as a ratio to the matching anchor rows at the same concurrency."""
    rows: list[dict[str, Any]] = []
    for cell in cells:
        if cell.scenario not in ANCHOR_ROWS:
            continue
        sa, pg = (find(cells, ANCHOR, row, cell.concurrency) for row in ANCHOR_ROWS[cell.scenario])
        rows.append(
            {
                "scenario": cell.scenario,
                "target": cell.target,
                "concurrency": cell.concurrency,
                "rps": cell.rps,
                "vs_sqlalchemy": _ratio(cell.rps, sa.rps) if sa else float("nan"),
                "vs_asyncpg": _ratio(cell.rps, pg.rps) if pg else float("nan"),
                "cpu_vs_sqlalchemy": _cpu_ratio(sa, cell),
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


def cpu_ratios(cells: Sequence[Cell], levels: Sequence[int]) -> list[dict[str, Any]]:
    """The throughput targets again, from CPU per request instead of measured req/s.

    On a shared machine measured req/s follows the share of a core each process
    got while its cells ran; CPU time per request does not. Capacity assumes a
    core per process (orders, products), which is how the services deploy.
    """
    judged_at = judged_level(levels)
    rows: list[dict[str, Any]] = []
    for c in levels:
        for name, top, bottom, bound in _THROUGHPUT_PAIRS:
            if find(cells, *top, c) is None or find(cells, *bottom, c) is None:
                continue
            value = _ratio(
                core_capacity(find(cells, *top, c)), core_capacity(find(cells, *bottom, c))
            )
            met = value >= bound
            rows.append(_check(c, f"{name} (CPU)", value, f">= {bound:g}", met, c == judged_at))
        for name, top, bottom in _VARIANT_PAIRS:
            cell, base = find(cells, *top, c), find(cells, *bottom, c)
            if cell is None or base is None or not cell.cpu_ms_per_req or not base.cpu_ms_per_req:
                continue
            # CPU per request, variant over default: 1.10 = the setting costs 10 % more CPU.
            value = _ratio(cell.cpu_ms_per_req, base.cpu_ms_per_req)
            label = f"{name}: CPU ms/req ratio"
            rows.append(_check(c, label, value, "", True, False) | {"target": ""})
    return rows
