"""Hang detection: calls wait on the remote and nothing comes back for too long (ADR 0024)."""

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterator

logger = logging.getLogger(__name__)

STALL_FLOOR_SECONDS = 1.0  # GC pauses and a loaded two-core machine stay below it
STALL_BASELINE_FACTOR = 10.0  # a remote with a high baseline latency gets longer
CHECK_INTERVAL_SECONDS = 0.1


class HangWatch:
    """Watches the calls in flight to ``name``; cuts them all when it stops answering."""

    def __init__(
        self,
        on_hang: Callable[[str], None],
        *,
        name: str,
        baseline: Callable[[], float] = lambda: 0.0,
        floor_seconds: float = STALL_FLOOR_SECONDS,
        factor: float = STALL_BASELINE_FACTOR,
        check_interval: float = CHECK_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._on_hang = on_hang
        self._name = name
        self._baseline = baseline
        self._floor = floor_seconds
        self._factor = factor
        self._interval = check_interval
        self._clock = clock
        self._in_flight: dict[int, tuple[float, asyncio.Timeout, list[bool]]] = {}
        self._next = 0
        self._progress = clock()
        self._task: asyncio.Task[None] | None = None
        self.hangs = 0

    @property
    def stall_seconds(self) -> float:
        """How long without an answer, calls waiting, counts as a hang now."""
        return max(self._floor, self._factor * self._baseline())

    def progress(self) -> None:
        """The remote answered something (any status) just now."""
        self._progress = self._clock()

    @contextlib.contextmanager
    def watching(self, timeout: asyncio.Timeout) -> Iterator[Callable[[], bool]]:
        """Watch one call under ``timeout``; yields "was it cut by a hang?" (valid after the block)."""
        key = self._next
        self._next += 1
        cut = [False]
        self._in_flight[key] = (self._clock(), timeout, cut)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._watch())
        try:
            yield lambda: cut[0]
        finally:
            self._in_flight.pop(key, None)

    async def _watch(self) -> None:
        while self._in_flight:
            await asyncio.sleep(self._interval)
            self.check()

    def check(self) -> bool:
        """Declare a hang if the calls in flight have waited too long for any answer."""
        if not self._in_flight:
            return False
        oldest = min(started for started, _, _ in self._in_flight.values())
        silent = self._clock() - max(self._progress, oldest)
        stall = self.stall_seconds
        if silent < stall:
            return False
        self.hangs += 1
        reason = (
            f"no answer from {self._name} for {silent:.2f}s with {len(self._in_flight)}"
            f" calls waiting (stall limit {stall:.2f}s)"
        )
        logger.warning("%s hung: %s", self._name, reason)
        self._on_hang(reason)
        loop_now = asyncio.get_running_loop().time()
        for _, timeout, cut in list(self._in_flight.values()):
            cut[0] = True
            when = timeout.when()
            if when is None or when > loop_now:
                # An expiring timeout refuses a new deadline; it is ending anyway.
                with contextlib.suppress(RuntimeError):
                    timeout.reschedule(loop_now)
        # The cut calls are gone; later ones start a fresh silence.
        self._progress = self._clock()
        return True

    async def aclose(self) -> None:
        """Stop the watch (at shutdown)."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
