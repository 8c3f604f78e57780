"""A named background loop: run a coroutine job every N seconds until stopped."""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from prometheus_client import Counter

logger = logging.getLogger(__name__)

# Module-level because prometheus-client's registry is process-global.
JOB_FAILURES = Counter(
    "background_job_failures_total", "Background job runs that raised, by job", ["job"]
)


class PeriodicTask:
    """Calls ``job`` every ``interval_seconds``; a failed run is logged, counted and retried next tick."""

    def __init__(
        self,
        name: str,
        interval_seconds: float,
        job: Callable[[], Awaitable[object]],
        *,
        wake: asyncio.Event | None = None,
    ) -> None:
        self.name = name
        self._interval = interval_seconds
        self._job = job
        # Set by whoever has work for the job: the next run starts at once, not a tick later.
        self._wake = wake
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        """Whether the background task is alive."""
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start the loop (once)."""
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name=self.name)

    async def stop(self) -> None:
        """Cancel the loop and wait for it to finish; harmless if it never started."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def run_once(self) -> bool:
        """One run; a failure is logged and counted, never raised, so the loop survives."""
        try:
            await self._job()
        except Exception:
            JOB_FAILURES.labels(self.name).inc()
            logger.exception(
                "background job %s failed; retrying in %ss",
                self.name,
                self._interval,
                extra={"job": self.name},
            )
            return False
        return True

    async def _loop(self) -> None:
        while True:
            if self._wake is not None:
                self._wake.clear()
            await self.run_once()
            if self._wake is None:
                await asyncio.sleep(self._interval)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval)
