"""The relay's statements over one outbox table, built once per table (``servicekit.sql`` caches by identity).

The table is ``servicekit.outbox.table.outbox_table``'s.
"""

import functools
from dataclasses import dataclass

from sqlalchemy import Select, Table, Update, bindparam, func, or_, select, update

from servicekit.outbox.status import OutboxStatus

# PostgreSQL: the outcomes of a whole batch as one statement, sent alone (no BEGIN /
# COMMIT round trips), fenced on each row's lease as ``finish`` is; the arrays follow
# FINISH_COLUMNS. SQLite writes them with ``finish`` in one executemany transaction.
_FINISH_ALONE = """
UPDATE {table} SET status = f.status, attempts = f.attempts,
                  completed_handlers = f.completed_handlers, locked_until = NULL,
                  last_error = f.last_error, next_attempt_at = f.next_attempt_at,
                  processed_at = f.processed_at
FROM unnest($1::uuid[], $2::timestamptz[], $3::varchar[], $4::int[], $5::text[], $6::text[],
            $7::timestamptz[], $8::timestamptz[])
     AS f(id, leased_until, status, attempts, completed_handlers, last_error,
          next_attempt_at, processed_at)
WHERE {table}.id = f.id AND {table}.locked_until = f.leased_until
"""
FINISH_COLUMNS = (
    "row_id", "leased_until", "new_status", "new_attempts", "new_completed_handlers",
    "new_last_error", "new_next_attempt_at", "new_processed_at",
)  # fmt: skip
"""The parameters of ``finish``, in the order of ``finish_alone``'s arrays."""


@dataclass(frozen=True, slots=True)
class Statements:
    """Lease a batch, write its outcomes (one by one, or all at once on PostgreSQL), count the backlog."""

    claim: Update
    finish: Update
    finish_alone: str
    pending: Select[int]


@functools.cache
def statements(outbox: Table) -> Statements:
    """The statements over ``outbox``; the same objects on every call."""
    due = (outbox.c.status == OutboxStatus.PENDING.value) & (
        outbox.c.next_attempt_at <= bindparam("now")
    )
    unleased = or_(outbox.c.locked_until.is_(None), outbox.c.locked_until < bindparam("now"))
    # One statement leases a batch: the oldest due rows, skipping rows another relay is
    # leasing right now (SKIP LOCKED; SQLite has one writer at a time and drops it), and
    # re-checked in the update itself, so a row is leased by one relay only.
    #
    # The batch is chosen once, in a CTE (PostgreSQL runs it once and keeps its rows; it
    # never inlines a CTE that locks rows, MATERIALIZED says so for the reader). As
    # an ``IN (subquery)`` it could be re-run for every candidate row (a nested-loop semi
    # join, the plan for a table its statistics think small): each rescan skips the rows
    # this statement has just updated and locks the next ``batch_size``, so one claim
    # leased the whole backlog (370 rows at batch size 50 under load, ADR 0022).
    batch = (
        select(outbox.c.id)
        .where(due, unleased)
        .order_by(outbox.c.created_at)
        .limit(bindparam("batch_size"))
        .with_for_update(skip_locked=True)
        .cte("batch")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    claim = (
        update(outbox)
        .where(outbox.c.id.in_(select(batch.c.id)), due, unleased)
        .values(locked_until=bindparam("lease_until"))
        .returning(outbox)
    )
    # Fenced on our lease: if it ran out and another relay took the row, leave it be.
    finish = (
        update(outbox)
        .where(
            outbox.c.id == bindparam("row_id"), outbox.c.locked_until == bindparam("leased_until")
        )
        .values(
            status=bindparam("new_status"),
            attempts=bindparam("new_attempts"),
            completed_handlers=bindparam("new_completed_handlers"),
            locked_until=None,
            last_error=bindparam("new_last_error"),
            next_attempt_at=bindparam("new_next_attempt_at"),
            processed_at=bindparam("new_processed_at"),
        )
    )
    pending = (
        select(func.count())
        .select_from(outbox)
        .where(outbox.c.status == OutboxStatus.PENDING.value)
    )
    return Statements(claim, finish, _FINISH_ALONE.format(table=outbox.name), pending)
