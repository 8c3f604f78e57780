"""A bulkhead: bounded, adaptive concurrency towards a remote, a bounded wait (ADRs 0009, 0024)."""

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from servicekit.http_client.protect.limiter import AdaptiveLimit
from servicekit.http_client.protect.metrics import ProtectionMetrics

Refused = Callable[[str], Exception]
"""Builds the error a call gets when no slot frees up in time, from its detail."""


class Bulkhead:
    """At most ``limit`` (or adaptive) calls in flight; others wait up to ``max_wait`` (ADR 0024)."""

    def __init__(
        self,
        limit: int,
        max_wait: float,
        *,
        name: str,
        metrics: ProtectionMetrics,
        refused: Refused,
        adaptive: AdaptiveLimit | None = None,
        work_started: Callable[[], None] = lambda: None,
    ) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        if max_wait <= 0:
            raise ValueError("max_wait must be positive")
        self._max_limit = limit
        self._max_wait = max_wait
        self._name = name
        self._metrics = metrics
        self._refused = refused
        self._adaptive = adaptive
        # Told when a call holds its slot: from then on the remote is doing its work
        # (a dual-client seam judges the remote from here, never the queueing: seam.work_started).
        self._work_started = work_started
        self._queue: deque[asyncio.Future[None]] = deque()
        self._in_flight = 0
        self._waiting = 0

    @property
    def limit(self) -> int:
        """Slots now (the adaptive limit when there is one)."""
        return self._adaptive.limit if self._adaptive is not None else self._max_limit

    @property
    def adaptive(self) -> AdaptiveLimit | None:
        """The adaptive limit, if the slots follow one."""
        return self._adaptive

    @property
    def in_flight(self) -> int:
        """Calls holding a slot now."""
        return self._in_flight

    @property
    def waiting(self) -> int:
        """Calls waiting for a slot now."""
        return self._waiting

    def expected_wait(self) -> float:
        """Seconds the next call would wait at the recent pace (0 while a slot is free)."""
        if self._in_flight < self.limit and not self._queue:
            return 0.0
        if self._adaptive is None or self._adaptive.recent_seconds <= 0:
            return 0.0  # no pace known yet: let it queue
        return (self._waiting + 1) * self._adaptive.recent_seconds / self.limit

    def observe(self, seconds: float) -> None:
        """An attempt got an answer after ``seconds`` (a latency sample for the limit)."""
        if self._adaptive is not None:
            self._adaptive.sample(seconds, self._in_flight)
            self._wake()

    def dropped(self) -> None:
        """An attempt timed out or was cut (the limit shrinks)."""
        if self._adaptive is not None:
            self._adaptive.dropped()

    @asynccontextmanager
    async def slot(self, max_wait: float | None = None) -> AsyncIterator[None]:
        """Hold one slot for the body, or raise ``refused``; ``max_wait`` only shortens the wait."""
        if self._in_flight < self.limit and not self._queue:
            self._in_flight += 1
        else:
            wait = self._max_wait if max_wait is None else min(max_wait, self._max_wait)
            await self._wait_for_slot(max(wait, 0.001))  # the slot is ours on return
        self._metrics.bulkhead_in_flight.inc()
        self._metrics.bulkhead_limit.set(self.limit)
        try:
            self._work_started()
            yield
        finally:
            self._in_flight -= 1
            self._metrics.bulkhead_in_flight.dec()
            self._wake()

    async def _wait_for_slot(self, max_wait: float) -> None:
        if self.expected_wait() > max_wait:
            self._metrics.bulkhead_rejected.inc()
            raise self._refused(
                f"{self._waiting} calls already wait for the {self.limit} calls to {self._name}"
                " allowed at once; try again shortly"
            )
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append(waiter)
        self._waiting += 1
        self._metrics.bulkhead_waiting.inc()
        try:
            async with asyncio.timeout(max_wait):
                await waiter
        except TimeoutError:
            self._give_back(waiter)
            self._metrics.bulkhead_rejected.inc()
            raise self._refused(
                f"all {self.limit} connections to {self._name} stayed busy for "
                f"{max_wait:g}s; try again shortly"
            ) from None
        except BaseException:
            self._give_back(waiter)
            raise
        finally:
            self._waiting -= 1
            self._metrics.bulkhead_waiting.dec()

    def _give_back(self, waiter: asyncio.Future[None]) -> None:
        if waiter.done() and not waiter.cancelled():
            # Granted a slot, then timed out or cancelled before using it: pass it on.
            self._in_flight -= 1
            self._wake()
            return
        waiter.cancel()
        with contextlib.suppress(ValueError):
            self._queue.remove(waiter)

    def _wake(self) -> None:
        # A slot goes straight to the longest waiter (counted for it), so a
        # call arriving meanwhile cannot overtake the queue.
        while self._queue and self._in_flight < self.limit:
            waiter = self._queue.popleft()
            if not waiter.done():
                waiter.set_result(None)
                self._in_flight += 1
