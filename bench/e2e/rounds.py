"""Paired rows: which rows take turns next to which partner, and one group measured in rounds."""

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from bench.e2e.analysis import BASE_APP, PAIRS, Round, Row, app_of
from bench.e2e.load import Cell, measure
from bench.e2e.servers import Target

# Between two rounds: the work the last requests set off (the relay woken by a
# commit, shadow mirrors) lands before the next row's round starts.
SETTLE_SECONDS = 0.1
# The requests wrk leaves in flight when it stops keep their process busy for
# about one median latency (c requests queued at the process's pace), so the
# settle grows by the last round's p50, up to this.
MAX_DRAIN_SECONDS = 1.0


@dataclass(frozen=True)
class Session:
    """A partner app up next to orders-local, and its groups of rows that take turns."""

    partner: str
    # Each group: local's row first, then the partner's rows paired with it.
    groups: tuple[tuple[Row, ...], ...]


@dataclass(frozen=True)
class Plan:
    """The paired sessions, and the rows measured with their app alone (as cells)."""

    sessions: tuple[Session, ...]
    solo: dict[str, tuple[Row, ...]]


def plan(rows_by_app: Mapping[str, Sequence[Row]], selected: Sequence[str]) -> Plan:
    """Which pairs a run of ``selected`` apps measures (both apps selected), grouped per partner.

    Rows of a partner paired with the same local row take turns in one group
    (the anchor's SQLAlchemy and asyncpg rows with local's, say), so local's row
    is driven once per round for both. Rows in no measured pair run alone.
    """
    rows = {app: tuple(rows_by_app.get(app, ())) for app in selected}
    measured = [
        p
        for p in PAIRS
        if p.top in rows.get(app_of(p.top), ()) and p.bottom in rows.get(app_of(p.bottom), ())
    ]
    sessions: list[Session] = []
    for partner in (app for app in selected if app != BASE_APP):
        groups: dict[Row, list[Row]] = {}
        for pair in measured:
            if {app_of(pair.top), app_of(pair.bottom)} != {BASE_APP, partner}:
                continue
            base, other = (
                (pair.top, pair.bottom) if app_of(pair.top) == BASE_APP else (pair.bottom, pair.top)
            )
            groups.setdefault(base, []).append(other)
        if groups:
            sessions.append(Session(partner, tuple((b, *o) for b, o in groups.items())))
    covered = {row for session in sessions for group in session.groups for row in group}
    solo = {
        app: tuple(row for row in app_rows if row not in covered) for app, app_rows in rows.items()
    }
    return Plan(tuple(sessions), {app: left for app, left in solo.items() if left})


def round_lengths(seconds: float, rounds: int) -> list[int]:
    """A cell's ``seconds`` split over ``rounds``, in whole seconds (wrk runs no less).

    Both rows of a round run equally long, so a round's ratio holds whatever
    its length; the longer rounds come first (4 s over 3 rounds: 2, 1, 1).
    """
    if rounds < 1 or seconds != int(seconds) or seconds < rounds:
        raise ValueError(
            f"--seconds {seconds:g} cannot be split over --rounds {rounds} in whole seconds"
            " (wrk runs whole seconds, at least 1 a round)"
        )
    base, extra = divmod(int(seconds), rounds)
    return [base + 1] * extra + [base] * (rounds - extra)


def settle_seconds(previous: Cell | None) -> float:
    """The pause before a round: the base settle plus the last round's in-flight requests."""
    drain = 0.0 if previous is None else min(previous.p50_ms / 1000, MAX_DRAIN_SECONDS)
    return SETTLE_SECONDS + drain


def turn_order(count: int, index: int) -> list[int]:
    """Which row goes when in round ``index``: forward, then backward (A B, B A, ...).

    Reversing every other round puts each row first as often as last, so a load
    that rises or falls through the cell weighs on both sides alike.
    """
    order = list(range(count))
    return order if index % 2 == 0 else order[::-1]


def measure_group(
    group: Sequence[Target],
    concurrency: int,
    *,
    lengths: Sequence[int],
    group_id: int,
    products_pid: Callable[[Target], int | None],
) -> list[Round]:
    """Drive the group's rows in turn, a round per entry of ``lengths`` (its seconds a row).

    One wrk run, with the CPU read around it, per row a round.

    ``products_pid``: products' pid for a row whose requests it serves part of, else None.
    """
    out: list[Round] = []
    previous: Cell | None = None
    for index, length in enumerate(lengths):
        for position in turn_order(len(group), index):
            target = group[position]
            time.sleep(settle_seconds(previous))
            cell = measure(
                target.scenario,
                target.name,
                target.server.url,
                target.script,
                concurrency,
                length,
                app_pid=target.server.pid,
                products_pid=products_pid(target),
                echo=False,
            )
            out.append(Round(group_id, index, cell))
            previous = cell
    return out
