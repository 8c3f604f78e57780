"""``orders worker``: the process that consumes integration events (``APP_EVENT_BUS=rabbitmq``).

It runs the order-confirmation e-mail off the request path and, in the
monolith stage (``APP_PRODUCTS_CLIENT=local``, no products service), products'
consumers through its facade. In ``local`` bus mode the API process's outbox
relay runs the same subscriptions itself, so there is nothing to start.
"""

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack

from orders.adapters.backends import (
    external_http_client,
    needs_external_http,
    notifications_backend,
)
from orders.adapters.events.consumers import confirmation_email
from orders.adapters.flags.sql import SqlFlagStore
from orders.config import (
    FeatureFlags,
    ProductsClientMode,
    Settings,
    choosable_modes,
    default_flags,
)
from orders.domain.ports import NotificationPort
from orders.entrypoints.worker_http import BEAT_SECONDS, WorkerHealth
from products.facade import ProductsFacade
from servicekit.clock import utc_now
from servicekit.db import create_engine
from servicekit.events.handlers import Subscription
from servicekit.events.runner import ConsumerGroup
from servicekit.events.settings import EventBusMode
from servicekit.periodic import PeriodicTask

logger = logging.getLogger(__name__)


async def _subscriptions(
    settings: Settings,
    flags: FeatureFlags,
    stack: AsyncExitStack,
    notifications: NotificationPort | None,
) -> list[Subscription]:
    engine = create_engine(
        settings.database_url.get_secret_value(), pool_size=settings.db_pool_size
    )
    stack.push_async_callback(engine.dispose)
    # The operator's flags (confirmation_email), read like the API processes read them.
    flag_store = SqlFlagStore(
        engine, default_flags(settings, flags), choosable=choosable_modes(settings.products_client)
    )
    await flag_store.refresh()
    refresh = PeriodicTask("flags-refresh", settings.flags_refresh_seconds, flag_store.refresh)
    refresh.start()
    stack.push_async_callback(refresh.stop)
    if notifications is None:
        http = None
        if needs_external_http(settings):
            http = external_http_client(settings)
            stack.push_async_callback(http.aclose)
        notifications = notifications_backend(settings, http)
    found = [
        confirmation_email(
            engine,
            notifications,
            utc_now,
            enabled=lambda: flag_store.current().confirmation_email,
        )
    ]
    if settings.products_client is ProductsClientMode.LOCAL:
        facade = ProductsFacade.from_database_url(
            settings.products_database_url.get_secret_value(), pool_size=settings.db_pool_size
        )
        stack.push_async_callback(facade.aclose)
        found.extend(facade.subscriptions())
    return found


async def run_worker(
    settings: Settings,
    flags: FeatureFlags,
    stop: asyncio.Event,
    *,
    notifications: NotificationPort | None = None,
    health: WorkerHealth | None = None,
) -> None:
    """Consume until ``stop`` is set; unacknowledged messages go back to their queues.

    With ``health``, the event loop records every second whether all consumers are
    attached: the worker's readiness probe reads it.
    """
    if settings.event_bus is not EventBusMode.RABBITMQ:
        raise ValueError("orders worker consumes from RabbitMQ: set APP_EVENT_BUS=rabbitmq")
    async with AsyncExitStack() as stack:
        group = ConsumerGroup(settings, await _subscriptions(settings, flags, stack, notifications))
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


async def serve_worker(
    settings: Settings, flags: FeatureFlags, health: WorkerHealth | None = None
) -> None:
    """``run_worker`` until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await run_worker(settings, flags, stop, health=health)
