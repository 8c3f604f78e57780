"""The outbox relay's own CPU per order, in-process (BENCHMARKS.md, ADR 0022).

uv run python bench/relay_cost.py [--rounds 5] [--orders 300] [--together]
"""

# One relay on a fresh PostgreSQL orders database (on the server of TEST_DATABASE_URL)
# with the handlers of local mode: the confirmation e-mail behind its inbox, to the log
# notifier. Each order writes its two events (OrderPlaced, then OrderStatusChanged) as
# a placement does, and the relay drains after each commit, so each event is a batch
# of its own (as with one placement at a time and no batch window); with --together
# both are committed before one drain (one batch, as the batch window makes it). Each
# line is the median over rounds of time.process_time() of the drains per order: the
# relay's work alone, the writes of the events not counted.

import argparse
import asyncio
import logging
import os
import statistics
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import uvloop
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orders.adapters.db.migrate import upgrade_orders_database
from orders.adapters.events.bus import local_bus
from orders.adapters.events.consumers import confirmation_email
from orders.adapters.notifications.log import LogNotifier
from orders.adapters.outbox.relay import ORDERS_OUTBOX
from orders.adapters.outbox.writer import append_events
from orders.domain.events import DomainEvent, OrderPlaced, OrderStatusChanged
from orders.domain.status import OrderStatus
from servicekit.clock import utc_now
from servicekit.db import create_engine, session_factory
from servicekit.outbox.relay import OutboxRelay
from servicekit.testing import fresh_postgres_database


def _one_order() -> list[DomainEvent]:
    order_id, now = uuid.uuid4(), datetime.now(UTC)
    return [
        OrderPlaced(
            order_id=order_id,
            user_id="relay-cost",
            occurred_at=now,
            customer_email="relay-cost@example.com",
            total=Decimal("12.30"),
            currency="EUR",
            item_count=2,
        ),
        OrderStatusChanged(
            order_id=order_id,
            user_id="relay-cost",
            occurred_at=now,
            old_status=OrderStatus.PENDING,
            new_status=OrderStatus.CONFIRMED,
        ),
    ]


async def _commit(sessions: async_sessionmaker[AsyncSession], events: list[DomainEvent]) -> None:
    async with sessions() as session:
        await append_events(session, events, utc_now())
        await session.commit()


async def _cpu_ms(
    relay: OutboxRelay[DomainEvent],
    sessions: async_sessionmaker[AsyncSession],
    orders: int,
    together: bool,
) -> float:
    cpu = 0.0
    for _ in range(orders):
        events = _one_order()
        for batch in [events] if together else [[event] for event in events]:
            await _commit(sessions, batch)
            start = time.process_time()
            assert await relay.drain() == len(batch)
            cpu += time.process_time() - start
    return cpu / orders * 1000


async def _run(url: str, rounds: int, orders: int, together: bool) -> None:
    await upgrade_orders_database(url)
    engine = create_engine(url, pool_size=10)
    sessions = session_factory(engine)
    email = confirmation_email(engine, LogNotifier(), utc_now, enabled=lambda: True)
    relay = OutboxRelay(ORDERS_OUTBOX, sessions, local_bus([email]), max_attempts=5)
    try:
        await _cpu_ms(relay, sessions, 50, together)  # warm: connections, prepared statements
        results = [await _cpu_ms(relay, sessions, orders, together) for _ in range(rounds)]
    finally:
        await engine.dispose()
    shape = "both events in one batch" if together else "each event in a batch of its own"
    print(f"{rounds} rounds of {orders} orders, {shape}; 1-minute load {os.getloadavg()[0]:.2f}")
    spread = f"{min(results):.3f}-{max(results):.3f}"
    print(f"relay {statistics.median(results):7.3f} ms CPU per order  (rounds {spread})")


def main() -> None:
    """Parse arguments, create the database, measure, drop it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--together", action="store_true", help="one batch per order")
    args = parser.parse_args()
    logging.getLogger().setLevel(logging.WARNING)  # the log notifier's lines, as in the bench
    with (
        fresh_postgres_database("bench_relay_cost") as url,
        asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner,
    ):
        runner.run(_run(url, args.rounds, args.orders, args.together))


if __name__ == "__main__":
    main()
