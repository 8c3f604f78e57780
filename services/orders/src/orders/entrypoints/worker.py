"""``orders worker``: consumes integration events (``APP_EVENT_BUS=rabbitmq``); ADR 0016, 0027."""

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack

from orders.bootstrap import Overrides, bootstrap
from orders.config import Settings
from servicekit.events.runner import ConsumerGroup
from servicekit.events.settings import EventBusMode
from servicekit.periodic import PeriodicTask
from servicekit.worker_health import BEAT_SECONDS, WorkerHealth

logger = logging.getLogger(__name__)


async def run_worker(
    settings: Settings,
    stop: asyncio.Event,
    overrides: Overrides | None = None,
    *,
    health: WorkerHealth | None = None,
) -> None:
    """Consume until ``stop`` is set; unacknowledged messages go back to their queues.

    The worker runs the order-confirmation e-mail off the request path and, in the
    monolith stage (``APP_PRODUCTS_CLIENT=local``, no products service),
    products' consumers through its facade. In ``local`` bus mode the API
    process's outbox relay runs the same subscriptions itself, so there is
    nothing to start.

    With ``health``, the event loop records every second whether all consumers are
    attached: the worker's readiness probe reads it.
    """
    if settings.event_bus is not EventBusMode.RABBITMQ:
        raise ValueError("orders worker consumes from RabbitMQ: set APP_EVENT_BUS=rabbitmq")
    async with AsyncExitStack() as stack:
        runtime = await bootstrap(settings, stack, overrides, with_consumers=True)
        group = ConsumerGroup(settings, runtime.subscriptions)
        stack.push_async_callback(group.aclose)
        group.start()
        if health is not None:
            beats = PeriodicTask("worker-health", BEAT_SECONDS, _beat(health, group))
            beats.start()
            stack.push_async_callback(beats.stop)
        logger.info("worker started", extra={"queues": [c.queues.main for c in group.consumers]})
        await stop.wait()


def _beat(health: WorkerHealth, group: ConsumerGroup) -> Callable[[], Awaitable[None]]:
    async def beat() -> None:
        health.beat(group.consuming)

    return beat


async def serve_worker(settings: Settings, health: WorkerHealth | None = None) -> None:
    """``run_worker`` until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await run_worker(settings, stop, health=health)
