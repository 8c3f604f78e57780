"""Background task that periodically expires lapsed reservations."""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from prometheus_client import Counter

logger = logging.getLogger(__name__)

# Module-level because prometheus-client's registry is process-global.
RESERVATIONS_EXPIRED = Counter(
    "products_reservations_expired_total", "Lapsed reservations expired by the sweeper"
)
SWEEP_FAILURES = Counter("products_sweep_failures_total", "Sweeper runs that raised")


class ReservationSweeper:
    """Calls ``sweep`` every ``interval_seconds`` until stopped; a failed run is retried next tick."""

    def __init__(self, sweep: Callable[[], Awaitable[int]], interval_seconds: float) -> None:
        self._sweep = sweep
        self._interval = interval_seconds
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        """Whether the background task is alive."""
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start the background task (once)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="reservation-sweeper")

    async def stop(self) -> None:
        """Cancel the task and wait for it to finish."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def run_once(self) -> int:
        """One sweep; failures are logged and counted, never raised, so the loop survives."""
        try:
            expired = await self._sweep()
        except Exception:
            SWEEP_FAILURES.inc()
            logger.exception("reservation sweep failed; retrying in %ss", self._interval)
            return 0
        if expired:
            RESERVATIONS_EXPIRED.inc(expired)
            logger.info("expired lapsed reservations", extra={"expired": expired})
        return expired

    async def _run(self) -> None:
        while True:
            await self.run_once()
            await asyncio.sleep(self._interval)
