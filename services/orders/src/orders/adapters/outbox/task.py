"""Orders' outbox relay as a background task, built from its settings (ADR 0022)."""

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orders.adapters.outbox.relay import ORDERS_OUTBOX
from orders.config import Settings
from orders.domain.ports import EventBusPort
from servicekit.clock import Clock
from servicekit.outbox.relay import OutboxRelay
from servicekit.outbox.task import periodic_relay
from servicekit.periodic import PeriodicTask
from servicekit.tracing import tracer


def relay_task(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    bus: EventBusPort,
    clock: Clock,
    wake: asyncio.Event,
) -> PeriodicTask:
    """The relay, woken by ``wake`` (a commit that wrote outbox rows) or its poll interval."""
    relay = OutboxRelay(
        ORDERS_OUTBOX,
        sessions,
        bus,
        max_attempts=settings.outbox_max_attempts,
        batch_size=settings.outbox_batch_size,
        lease_seconds=settings.outbox_lease_seconds,
        backoff_base_seconds=settings.outbox_backoff_seconds,
        clock=clock,
        tracer=tracer("orders.outbox"),
    )
    return periodic_relay(
        relay,
        poll_interval_seconds=settings.outbox_poll_interval_seconds,
        batch_window_seconds=settings.outbox_batch_window_seconds,
        wake=wake,
    )
