"""The outbox relay as a background task: drained when woken or on its poll interval (ADR 0022)."""

import asyncio
import time
from typing import Any

from servicekit.outbox.relay import OutboxRelay
from servicekit.periodic import PeriodicTask


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
