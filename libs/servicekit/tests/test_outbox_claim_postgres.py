"""The relay's claim on PostgreSQL: one pass leases one batch, whatever plan the database picks."""

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.servicekit.tests.outboxes import (
    T0,
    AccountEvent,
    Bus,
    Opened,
    account_relay,
    create_outbox,
    outbox,
)
from libs.servicekit.tests.outboxes import record as record_events
from servicekit.clock import ManualClock
from servicekit.db import create_engine, session_factory
from servicekit.testing import fresh_postgres_database

pytestmark = pytest.mark.postgres


@pytest.fixture
async def sessions() -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A fresh database whose statistics say the outbox is small, and a generic plan.

    That is a service's state after its first minutes: the table was created empty,
    autovacuum has not analysed it yet, and asyncpg's prepared statements get the
    generic plan, costed on that estimate (a nested-loop semi join).
    """
    with fresh_postgres_database("outbox_claim") as url:
        await create_outbox(url)
        engine = create_engine(url, pool_size=2)
        async with engine.begin() as connection:
            await connection.execute(
                text(f"ALTER TABLE {outbox.name} SET (autovacuum_enabled = false)")
            )
            name = engine.url.database
            await connection.execute(
                text(f'ALTER DATABASE "{name}" SET plan_cache_mode = force_generic_plan')
            )
        await engine.dispose()  # new connections take the database's setting
        yield session_factory(engine)
        await engine.dispose()


async def test_one_pass_leases_at_most_one_batch_of_a_backlog(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = ManualClock(T0)
    delivered: list[str] = []

    async def handler(event: AccountEvent) -> None:
        delivered.append(event.account)

    bus = Bus()
    bus.subscribe(Opened, "mail", handler)
    # A backlog written as it would be: one commit after another, oldest first.
    for n in range(60):
        await record_events(sessions, clock() + timedelta(milliseconds=n), Opened(account=str(n)))
    clock.advance(1)
    relay = account_relay(sessions, bus, clock=clock, max_attempts=3, batch_size=5)

    passes = [await relay.run_once() for _ in range(3)]

    assert passes == [5, 5, 5]
    assert sorted(delivered, key=int) == [str(n) for n in range(15)]  # the oldest first
    async with sessions() as session:
        leased = await session.scalar(
            text(f"SELECT count(*) FROM {outbox.name} WHERE locked_until IS NOT NULL")
        )
    assert leased == 0  # each pass wrote its outcomes; nothing else was leased on the way
