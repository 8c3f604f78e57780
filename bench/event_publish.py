"""Publish throughput of integration events: the library alone, and through the outbox.

``raw``: N persistent messages published one after another to a topic exchange
with one durable queue bound (so each is routed and written), each awaited
until the broker confirms it, through aio-pika or FastStream. FastStream is
not a project dependency; run it with ``uv run --with 'faststream[rabbit]'``.

``outbox``: N ``OrderPlaced`` rows in a fresh PostgreSQL orders database,
drained by the real ``OutboxRelay`` with ``APP_EVENT_BUS=local`` (a handler
that does nothing: the relay's own cost) or ``rabbitmq`` (publish + confirm
per row, row marked dispatched after the confirm).

    uv run python bench/event_publish.py raw --library aio-pika
    uv run --with 'faststream[rabbit]' python bench/event_publish.py raw --library faststream
    uv run python bench/event_publish.py outbox --bus rabbitmq   # TEST_DATABASE_URL
"""

import argparse
import asyncio
import time
import uuid
from contextlib import AsyncExitStack
from decimal import Decimal
from typing import Any

import aio_pika

from orders.adapters.db.migrate import upgrade_orders_database
from orders.adapters.events.bus import local_bus, publishing_bus
from orders.adapters.outbox.relay import ORDERS_OUTBOX
from orders.adapters.outbox.writer import append_events
from orders.domain.events import OrderPlaced
from servicekit.clock import utc_now
from servicekit.db import create_engine, session_factory
from servicekit.events.handlers import Subscription
from servicekit.events.publisher import RabbitPublisher
from servicekit.outbox.relay import OutboxRelay
from servicekit.testing import fresh_postgres_database
from shop_contracts.events import IntegrationEvent
from shop_contracts.events import OrderPlaced as WireOrderPlaced

URL = "amqp://guest:guest@127.0.0.1:5672/"


async def _declare(exchange: str) -> None:
    connection = await aio_pika.connect(URL)
    channel = await connection.channel()
    target = await channel.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC, durable=True)
    queue = await channel.declare_queue(f"{exchange}.sink", durable=True)
    await queue.bind(target, routing_key="#")
    await connection.close()


async def _cleanup(exchange: str) -> None:
    connection = await aio_pika.connect(URL)
    channel = await connection.channel()
    await channel.queue_delete(f"{exchange}.sink")
    await channel.exchange_delete(exchange)
    await connection.close()


async def _raw_aio_pika(exchange: str, count: int, body: bytes) -> tuple[float, float]:
    connection = await aio_pika.connect(URL)
    channel = await connection.channel(publisher_confirms=True)
    target = await channel.get_exchange(exchange)
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(count):
        message = aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT)
        await target.publish(message, routing_key="OrderPlaced.v1")
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    await connection.close()
    return elapsed, cpu


async def _raw_faststream(exchange: str, count: int, body: bytes) -> tuple[float, float]:
    from faststream.rabbit import ExchangeType, RabbitBroker, RabbitExchange

    broker = RabbitBroker(URL)
    await broker.connect()
    target = RabbitExchange(exchange, type=ExchangeType.TOPIC, durable=True)
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(count):
        await broker.publish(body, exchange=target, routing_key="OrderPlaced.v1", persist=True)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    await broker.stop()
    return elapsed, cpu


def _event() -> OrderPlaced:
    return OrderPlaced(
        order_id=uuid.uuid4(), user_id="bench", occurred_at=utc_now(),
        customer_email="bench@example.com", total=Decimal("19.90"), currency="EUR", item_count=2,
    )  # fmt: skip


async def _raw(library: str, count: int) -> None:
    exchange = f"bench.{uuid.uuid4().hex[:8]}"
    await _declare(exchange)
    body = b""
    elapsed = cpu = 0.0
    try:
        from orders.adapters.events.translate import to_integration_event

        body = to_integration_event(_event(), "bench").model_dump_json().encode()
        run = _raw_aio_pika if library == "aio-pika" else _raw_faststream
        elapsed, cpu = await run(exchange, count, body)
    finally:
        await _cleanup(exchange)
    print(
        f"raw {library}: {count} confirmed persistent publishes ({len(body)} B) in "
        f"{elapsed:.2f} s = {count / elapsed:,.0f} msg/s, {elapsed / count * 1e3:.2f} ms each, "
        f"client CPU {cpu / count * 1e3:.3f} ms each"
    )


async def _outbox(bus_mode: str, count: int, database_url: str) -> None:
    await upgrade_orders_database(database_url)
    engine = create_engine(database_url, pool_size=4)
    sessions = session_factory(engine)
    async with sessions() as session:
        await append_events(session, [_event() for _ in range(count)], utc_now())
        await session.commit()
    exchange = f"bench.{uuid.uuid4().hex[:8]}"
    async with AsyncExitStack() as stack:
        stack.push_async_callback(engine.dispose)
        if bus_mode == "local":

            async def nothing(event: IntegrationEvent) -> None:
                return None

            bus = local_bus([Subscription("noop", (WireOrderPlaced,), nothing)])
        else:
            await _declare(exchange)
            stack.push_async_callback(_cleanup, exchange)
            publisher = await RabbitPublisher(URL, exchange).start()
            stack.push_async_callback(publisher.aclose)
            bus = publishing_bus(publisher)
        relay = OutboxRelay(ORDERS_OUTBOX, sessions, bus, max_attempts=5)
        started = time.perf_counter()
        drained = await relay.drain()
        elapsed = time.perf_counter() - started
    print(
        f"outbox {bus_mode}: {drained} rows dispatched in {elapsed:.2f} s = "
        f"{drained / elapsed:,.0f} events/s, {elapsed / drained * 1e3:.2f} ms each"
    )


def main() -> None:
    """Parse arguments and run one measurement."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["raw", "outbox"])
    parser.add_argument("--library", choices=["aio-pika", "faststream"], default="aio-pika")
    parser.add_argument("--bus", choices=["local", "rabbitmq"], default="rabbitmq")
    parser.add_argument("--count", type=int, default=2_000)
    args = parser.parse_args()
    if args.what == "raw":
        asyncio.run(_raw(args.library, args.count))
        return
    with fresh_postgres_database("bench_events") as url:
        arguments: Any = (args.bus, args.count, url)
        asyncio.run(_outbox(*arguments))


if __name__ == "__main__":
    main()
