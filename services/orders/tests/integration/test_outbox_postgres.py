"""The outbox relay on PostgreSQL: concurrent relays never deliver an event twice."""

import asyncio
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from uuid import uuid4

import pytest

from orders.adapters.outbox.relay import ORDERS_OUTBOX
from orders.adapters.outbox.writer import append_events
from orders.application.event_bus import EventBus
from orders.domain.events import DomainEvent, OrderPlaced
from servicekit.db import create_engine, session_factory
from servicekit.outbox.relay import OutboxRelay

from .conftest import Databases

pytestmark = pytest.mark.postgres


async def test_four_concurrent_relays_deliver_each_event_exactly_once(migrated: Databases) -> None:
    engine = create_engine(migrated.orders, pool_size=8)
    sessions = session_factory(engine)
    now = datetime.now(UTC)
    events = [
        OrderPlaced(
            order_id=uuid4(),
            user_id="relay-test",
            occurred_at=now,
            customer_email=None,
            total=Decimal("1.00"),
            currency="EUR",
            item_count=1,
        )
        for _ in range(40)
    ]
    mine = {e.event_id for e in events}
    delivered: Counter[str] = Counter()

    async def handler(event: DomainEvent) -> None:
        await asyncio.sleep(0.001)
        if event.event_id in mine:
            delivered[str(event.event_id)] += 1

    bus = EventBus()
    bus.subscribe(OrderPlaced, "count", handler)
    try:
        async with sessions() as session:
            await append_events(session, events, now)
            await session.commit()
        relays = [
            OutboxRelay(ORDERS_OUTBOX, sessions, bus, max_attempts=3, batch_size=5)
            for _ in range(4)
        ]
        # Rows left by other tests in this shared database are drained too.
        for _ in range(100):
            if not sum(await asyncio.gather(*(relay.run_once() for relay in relays))):
                break
    finally:
        await engine.dispose()

    assert delivered == {str(event_id): 1 for event_id in mine}
