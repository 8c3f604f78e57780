"""The relay on both databases: its lease and its write one statement each on PostgreSQL, alike in effect."""

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy import delete, event, select
from sqlalchemy.ext.asyncio import AsyncEngine

from orders.adapters.db.migrate import upgrade_orders_database
from orders.adapters.db.tables import outbox
from orders.adapters.outbox.relay import OutboxRelay
from orders.adapters.outbox.writer import append_events
from orders.application.event_bus import EventBus
from orders.domain.events import DomainEvent, OrderPlaced, OrderStatusChanged
from orders.domain.status import OrderStatus
from servicekit.db import create_engine, session_factory
from servicekit.testing import fresh_postgres_database

pytestmark = pytest.mark.postgres

# asyncpg looks up a statement's parameter types once per connection: not per batch.
_INTROSPECTION = ("SELECT current_setting('jit')", "WITH RECURSIVE typeinfo_tree")


class Clock:
    """Hand-moved time: leases and backoff without sleeping."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Outbox:
    """An orders database with an empty outbox, and what its engine sends to asyncpg."""

    engine: AsyncEngine
    clock: Clock
    sent: list[str] = field(default_factory=list)

    def relay(self, bus: EventBus, **options: Any) -> OutboxRelay:
        values: dict[str, Any] = {"max_attempts": 3, "lease_seconds": 30}
        values.update(options)
        return OutboxRelay(session_factory(self.engine), bus, clock=self.clock, **values)

    async def record(self, *events: DomainEvent) -> None:
        async with session_factory(self.engine)() as session:
            await append_events(session, events, self.clock())
            await session.commit()

    async def rows(self) -> dict[Any, dict[str, Any]]:
        async with self.engine.connect() as connection:
            rows = (await connection.execute(select(outbox))).mappings().all()
        return {row["id"]: dict(row) for row in rows}


@pytest.fixture(scope="module")
def postgres_orders() -> Iterator[str]:
    """One PostgreSQL orders database for the module, migrated on first use."""
    with fresh_postgres_database("orders_relay") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
async def box(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_orders: str
) -> AsyncIterator[Outbox]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'orders.db'}"
    if request.param == "postgresql":
        url = postgres_orders
    await upgrade_orders_database(url)
    engine = create_engine(url, pool_size=4)
    found = Outbox(engine, Clock())
    if request.param == "postgresql":

        @event.listens_for(engine.sync_engine, "connect")
        def _log(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.driver_connection.add_query_logger(
                lambda record: found.sent.append(" ".join(record.query.split()))
            )

    async with engine.begin() as connection:
        await connection.execute(delete(outbox))
    try:
        yield found
    finally:
        await engine.dispose()


def _placed() -> OrderPlaced:
    return OrderPlaced(
        order_id=uuid4(),
        user_id="relay-paths",
        occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
        customer_email=None,
        total=Decimal("1.00"),
        currency="EUR",
        item_count=1,
    )


async def test_a_batch_is_leased_in_one_statement_and_finished_in_one(box: Outbox) -> None:
    handled: list[DomainEvent] = []

    async def handler(event: DomainEvent) -> None:
        handled.append(event)

    bus = EventBus()
    bus.subscribe(OrderPlaced, "count", handler)
    bus.subscribe(OrderStatusChanged, "count", handler)
    relay = box.relay(bus)
    await box.record(_placed())
    await relay.run_once()  # warm: connections open
    placed = _placed()
    changed = OrderStatusChanged(
        order_id=placed.order_id,
        user_id="relay-paths",
        occurred_at=placed.occurred_at,
        old_status=OrderStatus.PENDING,
        new_status=OrderStatus.CONFIRMED,
    )
    await box.record(placed, changed)
    box.sent.clear()

    assert await relay.run_once() == 2
    await asyncio.sleep(0)  # asyncpg calls its query loggers soon after, not at once
    sent = [query for query in box.sent if not query.startswith(_INTROSPECTION)]

    assert handled[1:] == [placed, changed]  # one order's events in their order
    assert {row["status"] for row in (await box.rows()).values()} == {"dispatched"}
    if box.engine.dialect.name == "postgresql":
        # The lease and the outcomes: one statement each, no BEGIN / COMMIT around them.
        assert [query.split(" ", 1)[0] for query in sent] == ["UPDATE", "UPDATE"]


async def test_retries_back_off_and_remember_the_handlers_that_succeeded(box: Outbox) -> None:
    calls: list[str] = []

    async def good(event: DomainEvent) -> None:
        calls.append("good")

    async def flaky(event: DomainEvent) -> None:
        calls.append("flaky")
        if calls.count("flaky") < 3:
            raise ConnectionError("smtp down")

    bus = EventBus()
    bus.subscribe(OrderPlaced, "good", good)
    bus.subscribe(OrderPlaced, "flaky", flaky)
    placed = _placed()
    await box.record(placed)
    relay = box.relay(bus, backoff_base_seconds=1)

    assert await relay.run_once() == 1
    row = (await box.rows())[placed.event_id]
    assert (row["status"], row["attempts"], row["locked_until"]) == ("pending", 1, None)
    assert json.loads(row["completed_handlers"]) == ["good"]
    assert row["next_attempt_at"] == box.clock() + timedelta(seconds=1)
    assert "smtp down" in row["last_error"]
    assert await relay.run_once() == 0  # backing off
    box.clock.advance(1)
    await relay.run_once()
    assert (await box.rows())[placed.event_id]["next_attempt_at"] == box.clock() + timedelta(
        seconds=2
    )
    box.clock.advance(2)
    await relay.run_once()

    row = (await box.rows())[placed.event_id]
    assert (row["status"], row["attempts"], row["last_error"]) == ("dispatched", 3, None)
    assert row["processed_at"] == box.clock()
    assert calls == ["good", "flaky", "flaky", "flaky"]


async def test_the_last_failed_attempt_dead_letters_the_row(box: Outbox) -> None:
    async def broken(event: DomainEvent) -> None:
        raise ValueError("template missing")

    bus = EventBus()
    bus.subscribe(OrderPlaced, "broken", broken)
    placed = _placed()
    await box.record(placed)
    relay = box.relay(bus)

    for _ in range(5):
        await relay.run_once()
        box.clock.advance(60)

    row = (await box.rows())[placed.event_id]
    assert (row["status"], row["attempts"]) == ("dead", 3)
    assert "template missing" in row["last_error"]


async def test_a_relay_whose_lease_ran_out_leaves_the_next_relays_outcome_alone(
    box: Outbox,
) -> None:
    started, release = asyncio.Event(), asyncio.Event()
    calls = 0

    async def slow_then_quick(event: DomainEvent) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            started.set()
            await release.wait()
            raise ConnectionError("too late anyway")

    bus = EventBus()
    bus.subscribe(OrderPlaced, "mail", slow_then_quick)
    placed = _placed()
    await box.record(placed)

    first = asyncio.create_task(box.relay(bus, lease_seconds=60).run_once())
    await started.wait()
    box.clock.advance(61)  # the first relay's lease ran out: the row is due again
    assert await box.relay(bus).run_once() == 1
    release.set()
    assert await first == 1  # it writes its outcome, fenced on the lease it held

    row = (await box.rows())[placed.event_id]
    assert (row["status"], row["attempts"], row["last_error"]) == ("dispatched", 1, None)
