"""A bulkhead: bounded concurrency towards products, with a bounded wait for a slot.

A burst larger than the bulkhead queues here, in orders, instead of piling
onto products (whose own pool would then make every call slow) or onto the
connection pool (where a wait looks exactly like products not accepting
connections). Waiting here is back-pressure, never a products failure: the
circuit breaker does not hear about it, and neither does the canary fallback:
a rejection is a ``BulkheadFull`` (to API users exactly a ``ProductsUnavailable``)
and ``on_slot`` lets a caller time a call from the moment it holds a slot.
Policy and numbers: ADR 0009.
"""

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar

from orders.adapters.product_clients.backpressure import BulkheadFull
from orders.adapters.product_clients.metrics import (
    BULKHEAD_IN_FLIGHT,
    BULKHEAD_REJECTED,
    BULKHEAD_WAITING,
)

_on_slot: ContextVar[Callable[[], None] | None] = ContextVar("bulkhead_on_slot", default=None)


@contextmanager
def on_slot(hook: Callable[[], None]) -> Iterator[None]:
    """Call ``hook`` whenever a call made in this context (this task) takes a slot."""
    token = _on_slot.set(hook)
    try:
        yield
    finally:
        _on_slot.reset(token)


class Bulkhead:
    """At most ``limit`` calls in flight; others wait up to ``max_wait`` seconds for a slot."""

    def __init__(self, limit: int, max_wait: float) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        if max_wait <= 0:
            raise ValueError("max_wait must be positive")
        self._limit = limit
        self._max_wait = max_wait
        self._slots = asyncio.Semaphore(limit)
        self._in_flight = 0
        self._waiting = 0

    @property
    def in_flight(self) -> int:
        """Calls holding a slot now."""
        return self._in_flight

    @property
    def waiting(self) -> int:
        """Calls waiting for a slot now."""
        return self._waiting

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one slot for the body; ``BulkheadFull`` when none frees up in time."""
        self._waiting += 1
        BULKHEAD_WAITING.inc()
        try:
            async with asyncio.timeout(self._max_wait):
                await self._slots.acquire()
        except TimeoutError:
            BULKHEAD_REJECTED.inc()
            raise BulkheadFull(
                f"all {self._limit} connections to products stayed busy for "
                f"{self._max_wait:g}s; try again shortly",
                retry_after=1,
            ) from None
        finally:
            self._waiting -= 1
            BULKHEAD_WAITING.dec()
        self._in_flight += 1
        BULKHEAD_IN_FLIGHT.inc()
        try:
            hook = _on_slot.get()
            if hook is not None:
                hook()
            yield
        finally:
            self._in_flight -= 1
            BULKHEAD_IN_FLIGHT.dec()
            self._slots.release()
