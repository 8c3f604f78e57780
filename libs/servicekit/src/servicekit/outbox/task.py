"""The outbox relay as a background task: drained when woken or on its poll interval (ADR 0022)."""

import asyncio
import time
from typing import Any, TypeVar

from opentelemetry.trace import Tracer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from servicekit.clock import Clock
from servicekit.outbox.handlers import Handlers
from servicekit.outbox.relay import Outbox, OutboxRelay
from servicekit.outbox.settings import OutboxSettings
from servicekit.periodic import PeriodicTask

E = TypeVar("E")


def relay_task(
    outbox: Outbox[E],
    settings: OutboxSettings,
    sessions: async_sessionmaker[AsyncSession],
    handlers: Handlers[E],
    *,
    clock: Clock,
    wake: asyncio.Event,
    tracer: Tracer | None = None,
) -> PeriodicTask:
    """``outbox``'s relay built from its settings, woken by ``wake`` or its poll interval."""
    relay = OutboxRelay(
        outbox,
        sessions,
        handlers,
        max_attempts=settings.outbox_max_attempts,
        batch_size=settings.outbox_batch_size,
        lease_seconds=settings.outbox_lease_seconds,
        backoff_base_seconds=settings.outbox_backoff_seconds,
        clock=clock,
        tracer=tracer,
    )
    return periodic_relay(
        relay,
        poll_interval_seconds=settings.outbox_poll_interval_seconds,
        batch_window_seconds=settings.outbox_batch_window_seconds,
        wake=wake,
    )


def periodic_relay(
    relay: OutboxRelay[Any],
    *,
    poll_interval_seconds: float,
    batch_window_seconds: float,
    wake: asyncio.Event,
) -> PeriodicTask:
    """The relay, woken by ``wake`` (a commit that wrote outbox rows) or its poll interval.

    Each pass waits ``batch_window_seconds`` first (0: none), so the commits right
    after the one that woke it are in the same batch.
    """
    depth_counted_at = 0.0

    async def relay_pass() -> None:
        nonlocal depth_counted_at
        if batch_window_seconds:
            # The commits right behind the one that woke us (an order's save, then its
            # settle) join this batch: one lease and one write for them, not one each.
            await asyncio.sleep(batch_window_seconds)
            wake.clear()  # whatever committed until now is due for the claim below
        await relay.drain()
        # Passes follow commits closely under load: count the backlog once a tick.
        if time.monotonic() - depth_counted_at >= poll_interval_seconds:
            depth_counted_at = time.monotonic()
            await relay.record_depth()

    return PeriodicTask("outbox-relay", poll_interval_seconds, relay_pass, wake=wake)
