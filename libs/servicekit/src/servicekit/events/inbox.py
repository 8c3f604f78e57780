"""The inbox: which events a consumer already applied, committed with the effect.

A consumer claims ``(event_id, consumer)`` in the same transaction as its
effect. A redelivered event finds the row and is skipped; an effect rolled
back takes its claim with it, so the retry applies it. On PostgreSQL two
concurrent deliveries of one event serialise on the primary key: the second
waits for the first to commit and then sees the conflict.
"""

from collections.abc import Awaitable, Callable
from datetime import datetime
from uuid import UUID

from sqlalchemy import Column, MetaData, String, Table, Uuid, bindparam
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncEngine

from servicekit.clock import Clock
from servicekit.events.handlers import IntegrationHandler
from servicekit.sql import Sql
from servicekit.sqltypes import UtcDateTime
from shop_contracts.events import IntegrationEvent

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


def inbox_guarded(
    engine: AsyncEngine,
    statement: postgresql.Insert,
    name: str,
    effect: Callable[[IntegrationEvent], Awaitable[None]],
    clock: Clock,
) -> IntegrationHandler:
    """Run ``effect`` unless the inbox says ``name`` already did; the claim commits after it.

    ``statement`` is ``claim_statement(inbox)``. An effect outside the database
    (an e-mail) that succeeded just before a failed commit runs again on
    redelivery: at least once, with the event id as the provider's dedupe key.
    """

    async def handle(event: IntegrationEvent) -> None:
        async with Sql(engine) as sql:
            if not await claim_in(sql, statement, event.id, name, clock()):
                return
            await effect(event)
            await sql.commit()

    return handle
