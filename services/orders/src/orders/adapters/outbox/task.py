"""The outbox relay as a background task: drained when woken or on its poll interval (ADR 0022)."""

import asyncio
import time

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orders.adapters.outbox.depth import record_outbox_depth
from orders.adapters.outbox.relay import OutboxRelay
from orders.config import Settings
from orders.domain.ports import EventBusPort
from servicekit.clock import Clock
from servicekit.periodic import PeriodicTask
from servicekit.tracing import tracer


def relay_task(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    bus: EventBusPort,
    clock: Clock,
    wake: asyncio.Event,
) -> PeriodicTask:
    """The relay, woken by ``wake`` (a commit that wrote outbox rows) or its poll interval.

    Each pass waits ``outbox_batch_window_seconds`` first (0: none), so the commits right
    after the one that woke it are in the same batch.
    """
    relay = OutboxRelay(
        sessions,
        bus,
        max_attempts=settings.outbox_max_attempts,
        batch_size=settings.outbox_batch_size,
        lease_seconds=settings.outbox_lease_seconds,
        backoff_base_seconds=settings.outbox_backoff_seconds,
        clock=clock,
        tracer=tracer("orders.outbox"),
    )
    depth_counted_at = 0.0

    window = settings.outbox_batch_window_seconds

    async def relay_pass() -> None:
        nonlocal depth_counted_at
        if window:
            # The commits right behind the one that woke us (an order's save, then its
            # settle) join this batch: one lease and one write for them, not one each.
            await asyncio.sleep(window)
            wake.clear()  # whatever committed until now is due for the claim below
        await relay.drain()
        # Passes follow commits closely under load: count the backlog once a tick.
        if time.monotonic() - depth_counted_at >= settings.outbox_poll_interval_seconds:
            depth_counted_at = time.monotonic()
            await record_outbox_depth(sessions)

    return PeriodicTask(
        "outbox-relay", settings.outbox_poll_interval_seconds, relay_pass, wake=wake
    )
