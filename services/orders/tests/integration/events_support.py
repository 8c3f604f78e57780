"""Shared pieces of the event-bus tests: the bus under test, its consumers, and waiting."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aio_pika
from fakes import RecordingNotifier
from sqlalchemy import text

from orders.bootstrap import Overrides
from orders.config import Settings
from orders.entrypoints.worker import run_worker
from servicekit.db import create_engine
from servicekit.events.testing import delete_topology
from servicekit.events.topology import ConsumerQueues

from .conftest import Databases, local_mode

MAX_ATTEMPTS = 3


@dataclass
class Bus:
    """One ``APP_EVENT_BUS`` setting, with what a test needs to run against it."""

    mode: str
    url: str = ""
    exchange: str = ""
    queues: list[ConsumerQueues] = field(default_factory=list)

    def overrides(self, databases: Databases, **extra: Any) -> dict[str, Any]:
        """Orders settings for this bus: local products client, relay polling fast."""
        values: dict[str, Any] = {
            "event_bus": self.mode,
            "run_outbox_relay": True,
            "outbox_poll_interval_seconds": 0.05,
            "outbox_backoff_seconds": 0.05,
            "consumer_max_attempts": MAX_ATTEMPTS,
            "consumer_retry_base_seconds": 0.1,
            "db_pool_size": 4,
            "db_max_overflow": 4,
        }
        if self.mode == "rabbitmq":
            values |= {"rabbitmq_url": self.url, "events_exchange": self.exchange}
        return local_mode(databases, **(values | extra))

    async def cleanup(self) -> None:
        """Delete what the test declared on the broker."""
        if self.mode == "rabbitmq":
            await delete_topology(self.url, self.exchange, self.queues, MAX_ATTEMPTS)


@asynccontextmanager
async def worker(bus: Bus, settings: Settings, notifier: RecordingNotifier) -> AsyncIterator[None]:
    """``orders worker`` in this process when the bus is RabbitMQ; nothing in local mode."""
    if bus.mode != "rabbitmq":
        yield
        return
    stop = asyncio.Event()
    task = asyncio.create_task(run_worker(settings, stop, Overrides(notifications=notifier)))
    queues = [
        ConsumerQueues(f"{bus.exchange}.order_confirmation_email"),
        ConsumerQueues(f"{bus.exchange}.products_release_cancelled_order"),
    ]
    bus.queues += queues
    try:
        # A queue receives only what is published after it is bound (ADR 0013): the
        # test publishes once the worker consumes from every queue, as a deployment would.
        for queue in queues:
            await _consumed(bus.url, queue.main, task)
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def _consumed(url: str, queue: str, worker_task: asyncio.Task[None]) -> None:
    """Wait until ``queue`` has a consumer; fail at once if the worker stopped."""
    connection = await aio_pika.connect(url)
    try:
        async with asyncio.timeout(30):
            while True:
                if worker_task.done():
                    worker_task.result()  # its error, if it failed
                    raise AssertionError("the worker stopped before it consumed")
                channel = await connection.channel()
                try:
                    declared = await channel.declare_queue(queue, passive=True)
                    if (declared.declaration_result.consumer_count or 0) > 0:
                        return
                except aio_pika.exceptions.ChannelClosed:
                    pass  # not declared yet (a passive declare of a missing queue closes the channel)
                finally:
                    if not channel.is_closed:
                        await channel.close()
                await asyncio.sleep(0.05)
    finally:
        await connection.close()


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 30.0) -> None:
    """Wait until ``check`` holds; fail with a timeout otherwise."""
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {within}s")
        await asyncio.sleep(0.05)


async def scalar(url: str, sql: str, **params: object) -> Any:
    """One value from the database at ``url``."""
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            return (await conn.execute(text(sql), params)).scalar_one()
    finally:
        await engine.dispose()
