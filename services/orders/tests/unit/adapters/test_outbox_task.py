"""The relay's background task: a woken pass waits its window, so commits close behind share a batch (up to its size)."""

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from uuid import uuid4

import pytest
from harness import make_settings
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import servicekit.outbox.task
from orders.adapters.outbox.relay import ORDERS_OUTBOX
from orders.adapters.outbox.writer import append_events
from orders.application.event_bus import EventBus
from orders.domain.events import DomainEvent, OrderPlaced, OrderStatusChanged
from orders.domain.status import OrderStatus
from servicekit.clock import utc_now
from servicekit.outbox.relay import OutboxRelay


def _one_order() -> tuple[OrderPlaced, OrderStatusChanged]:
    now = datetime.now(UTC)
    placed = OrderPlaced(
        order_id=uuid4(),
        user_id="window",
        occurred_at=now,
        customer_email=None,
        total=Decimal("1.00"),
        currency="EUR",
        item_count=1,
    )
    settled = OrderStatusChanged(
        order_id=placed.order_id,
        user_id="window",
        occurred_at=now,
        old_status=OrderStatus.PENDING,
        new_status=OrderStatus.CONFIRMED,
    )
    return placed, settled


@pytest.mark.parametrize(
    ("window", "batch_size", "batches"),
    [(0.5, 50, [2]), (0.0, 50, [1, 1]), (0.5, 1, [1, 1])],
    ids=["window", "no-window", "batches-of-one"],
)
async def test_an_orders_save_and_settle_share_a_batch_within_the_window(
    orders_db_url: str,
    sessions: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
    window: float,
    batch_size: int,
    batches: list[int],
) -> None:
    passes: asyncio.Queue[int] = asyncio.Queue()

    class Recording(OutboxRelay[DomainEvent]):
        async def run_once(self) -> int:
            processed = await super().run_once()
            passes.put_nowait(processed)
            return processed

    monkeypatch.setattr(servicekit.outbox.task, "OutboxRelay", Recording)
    handled: list[DomainEvent] = []

    async def handler(event: DomainEvent) -> None:
        handled.append(event)

    bus = EventBus()
    bus.subscribe(OrderPlaced, "mail", handler)
    bus.subscribe(OrderStatusChanged, "mail", handler)
    wake = asyncio.Event()
    settings = make_settings(
        orders_db_url,
        outbox_poll_interval_seconds=30,
        outbox_batch_window_seconds=window,
        outbox_batch_size=batch_size,
    )
    task = servicekit.outbox.task.relay_task(
        ORDERS_OUTBOX, settings, sessions, bus, clock=utc_now, wake=wake
    )
    placed, settled = _one_order()
    batched: list[int] = []
    task.start()
    try:
        async with asyncio.timeout(5):
            assert await passes.get() == 0  # the pass every start begins with

            await _commit(sessions, placed)
            wake.set()  # as the unit of work does after a commit that wrote events
            await asyncio.sleep(0.05)
            await _commit(sessions, settled)
            wake.set()
            while sum(batched) < 2:
                if processed := await passes.get():
                    batched.append(processed)
    finally:
        await task.stop()

    assert handled == [placed, settled]
    assert batched == batches


async def _commit(sessions: async_sessionmaker[AsyncSession], event: DomainEvent) -> None:
    async with sessions() as session:
        await append_events(session, [event], utc_now())
        await session.commit()
