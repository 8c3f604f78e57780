"""The inbox: which events a consumer already applied, committed with the effect.

A consumer claims ``(event_id, consumer)`` in the same transaction as its
effect. A redelivered event finds the row and is skipped; an effect rolled
back takes its claim with it, so the retry applies it. On PostgreSQL two
concurrent deliveries of one event serialise on the primary key: the second
waits for the first to commit and then sees the conflict.
"""

from datetime import datetime
from uuid import UUID

from sqlalchemy import Column, MetaData, String, Table, Uuid, bindparam
from sqlalchemy.dialects import postgresql

from servicekit.sql import Sql
from servicekit.sqltypes import UtcDateTime

INBOX_TABLE = "inbox"


def inbox_table(metadata: MetaData) -> Table:
    """The inbox table in a service's metadata (each service migrates its own)."""
    return Table(
        INBOX_TABLE,
        metadata,
        Column("event_id", Uuid, primary_key=True),
        Column("consumer", String(100), primary_key=True),
        Column("processed_at", UtcDateTime, nullable=False),
    )


def claim_statement(inbox: Table) -> postgresql.Insert:
    """The claim of ``claim_in``; build it once per table (it compiles for SQLite too)."""
    return (
        postgresql.insert(inbox)
        .values(
            event_id=bindparam("event_id"),
            consumer=bindparam("consumer"),
            processed_at=bindparam("processed_at"),
        )
        .on_conflict_do_nothing()
    )


async def claim_in(
    sql: Sql, statement: postgresql.Insert, event_id: UUID, consumer: str, now: datetime
) -> bool:
    """Record the event as applied by ``consumer`` in this transaction; False if it already was.

    ``statement`` is ``claim_statement(inbox)``.
    """
    params = {"event_id": event_id, "consumer": consumer, "processed_at": now}
    return await sql.execute(statement, params) == 1
