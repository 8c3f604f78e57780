"""The canary fallback: the remote path breaches its thresholds, the canary share drops to 0 (ADR 0025)."""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from seam.chain import Call, Handler
from seam.metrics import SeamMetrics
from seam.modes import FlagNames
from seam.observe import Outcome
from seam.timing import timing
from seam.window import Thresholds, Window, WindowStats

logger = logging.getLogger(__name__)

ACTOR = "canary-fallback"
"""Who the fallback's flag writes are recorded as; reserved for it."""
_GAUGE_INTERVAL = timedelta(seconds=1)
_MAX_RETRY_SECONDS = 30.0


class Override(Protocol):
    """One flag set at run time: who set it, when, why."""

    @property
    def updated_by(self) -> str: ...
    @property
    def updated_at(self) -> datetime: ...
    @property
    def reason(self) -> str: ...


Overrides = Callable[[], Mapping[str, Override]]
"""The flags set at run time, as this process last read them."""
Close = Callable[[str, datetime], Awaitable[bool]]
"""Writes the share 0 (``reason``, ``tripped_at``); False when an operator's change stands."""


@dataclass(frozen=True, slots=True)
class FallbackState:
    """Why and when the fallback set the share to 0; ``pending`` until the store has it."""

    at: datetime
    reason: str
    pending: bool = False


class Fallback:
    """Judges the routed remote calls; on a breach, holds everyone local and closes the canary."""

    def __init__(
        self,
        overrides: Overrides,
        close: Close,
        thresholds: Thresholds,
        metrics: SeamMetrics,
        *,
        flags: FlagNames,
        outcome: Outcome,
        failed: frozenset[str],
        not_judged: tuple[type[BaseException], ...] = (),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        retry_seconds: float = 1.0,
        final_attempt_seconds: float = 5.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._overrides = overrides
        self._close_share = close
        self._window = Window(thresholds)
        self._metrics = metrics
        self._flags = flags
        self._outcome = outcome
        self._failed = failed
        self._not_judged = not_judged
        self._clock = clock
        self._retry_seconds = retry_seconds
        self._final_attempt_seconds = final_attempt_seconds
        self._sleep = sleep
        self._timer = timer
        self._tripped: FallbackState | None = None
        self._seen_at_trip: dict[str, Override | None] = {}
        self._write: asyncio.Task[None] | None = None
        self._generation = 0
        self._gauges_at: datetime | None = None
        # Set by aclose: a trip after it (a breaker opening during shutdown) would
        # start a write nobody awaits, over a store that is being closed.
        self._closed = False

    @property
    def thresholds(self) -> Thresholds:
        """What trips it."""
        return self._window.thresholds

    @property
    def generation(self) -> int:
        """Changes at each trip; a call started before one is not judged after it."""
        return self._generation

    @property
    def holding(self) -> bool:
        """Tripped, and the flags here do not show it yet: this process routes everyone local."""
        tripped = self._tripped
        if tripped is None:
            return False
        if self._hold_over(tripped):
            self._tripped = None
            return False
        return True

    def _hold_over(self, tripped: FallbackState) -> bool:
        overrides = self._overrides()
        for name in (self._flags.mode, self._flags.share):
            now = overrides.get(name)
            if now != self._seen_at_trip.get(name) and (
                now is None or (now.updated_by != ACTOR and now.updated_at > tripped.at)
            ):
                return True  # an operator changed it since the trip: their flags stand
        if tripped.pending:
            return False
        share = overrides.get(self._flags.share)
        return share is not None and share.updated_by == ACTOR and share.updated_at >= tripped.at

    async def __call__(self, call: Call, next: Handler) -> Any:
        """The guard link: the call's latency (from ``work_started``) and outcome are judged."""
        generation = self._generation
        with timing(self._timer) as timer:
            try:
                result = await next(call)
            except asyncio.CancelledError:
                raise  # the caller gave up: says nothing about the remote side
            except self._not_judged:
                raise  # this process's back-pressure, never a remote failure
            except BaseException as exc:
                self.record(self._timer() - timer.start, self._outcome(exc), generation)
                raise
            self.record(self._timer() - timer.start, self._outcome(None), generation)
            return result

    def record(self, seconds: float, outcome: str, generation: int | None = None) -> None:
        """One routed remote call that ended with ``outcome`` after ``seconds``."""
        if self._tripped is not None or (generation is not None and generation != self._generation):
            return  # already falling back, or a call from before the last trip
        now = self._clock()
        if self._window.add(now, seconds, outcome in self._failed):
            self._trip(self._window.stats())
        elif self._gauges_at is None or now - self._gauges_at >= _GAUGE_INTERVAL:
            self._gauges_at = now
            self._gauge(self._window.stats())

    def remote_down(self, why: str) -> None:
        """The remote client's breaker opened (a hang, or its own failures): trip now."""
        if self._tripped is None:
            self._trip(self.stats(), cause=f"remote client breaker opened: {why}")

    def stats(self) -> WindowStats:
        """The window now (older calls dropped)."""
        self._window.expire(self._clock())
        return self._window.stats()

    def state(self) -> FallbackState | None:
        """The fallback in force: tripped here and holding, or last to set the share."""
        if self.holding:
            return self._tripped
        override = self._overrides().get(self._flags.share)
        if override is None or override.updated_by != ACTOR:
            return None
        return FallbackState(override.updated_at, override.reason)

    def publish_active(self) -> bool:
        """Set the ``canary_fallback_active`` gauge from ``state()``; whether it is active."""
        active = self.state() is not None
        self._metrics.fallback_active.set(1 if active else 0)
        return active

    async def settled(self) -> None:
        """Wait until a pending write has landed (tests, shutdown)."""
        if self._write is not None:
            await asyncio.shield(self._write)

    async def aclose(self) -> None:
        """On shutdown: stop a write still retrying, then one bounded, shielded final attempt."""
        self._closed = True
        task, self._write = self._write, None
        if task is None:
            return
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        tripped = self._tripped
        if tripped is None or not tripped.pending:
            return
        final = asyncio.get_running_loop().create_task(self._close(tripped))
        done, _ = await asyncio.wait({final}, timeout=self._final_attempt_seconds)
        if not done:
            final.cancel()
            await asyncio.gather(final, return_exceptions=True)
            problem: BaseException | str = f"no answer within {self._final_attempt_seconds:g}s"
        else:
            error = final.exception()
            if error is None:
                return
            problem = error
        logger.error(
            "canary fallback could not write canary_share=0 before shutdown (%s);"
            " other processes keep the canary open: set it by hand (%s)",
            problem,
            tripped.reason,
        )

    async def _close(self, tripped: FallbackState) -> None:
        written = await self._close_share(tripped.reason, tripped.at)
        if not written:
            logger.warning(
                "canary fallback's write skipped: canary_share or products_client was"
                " changed after the trip by an operator, whose flags stand",
                extra={"fallback_reason": tripped.reason},
            )
        if self._tripped is tripped:  # still this trip's hold
            self._tripped = FallbackState(tripped.at, tripped.reason) if written else None

    def _gauge(self, stats: WindowStats) -> None:
        self._metrics.window_error_rate.set(stats.error_rate)
        self._metrics.window_p95.set(stats.p95_seconds)

    def _trip(self, stats: WindowStats, cause: str | None = None) -> None:
        if self._closed:
            return
        limits = self.thresholds
        reason = cause or (
            f"http error rate {stats.error_rate:.3f} (max {limits.max_error_rate}),"
            f" p95 {stats.p95_seconds:.3f}s (max {limits.max_p95_seconds}s)"
            f" over {stats.calls} calls in {limits.window_seconds:g}s"
            f" (min {limits.min_calls})"
        )
        overrides = self._overrides()
        watched = (self._flags.mode, self._flags.share)
        self._seen_at_trip = {name: overrides.get(name) for name in watched}
        self._tripped = FallbackState(self._clock(), reason, pending=True)
        self._generation += 1
        self._window.clear()
        self._gauge(stats)
        self._metrics.fallback_trips.inc()
        self._metrics.fallback_active.set(1)
        self._metrics.canary_share.set(0)
        logger.warning(
            "canary fallback: %s; canary share set to 0",
            reason,
            extra={
                "fallback_calls": stats.calls,
                "fallback_failures": stats.failures,
                "fallback_error_rate": round(stats.error_rate, 6),
                "fallback_p95_seconds": round(stats.p95_seconds, 6),
                "fallback_max_error_rate": limits.max_error_rate,
                "fallback_max_p95_seconds": limits.max_p95_seconds,
                "fallback_min_calls": limits.min_calls,
                "fallback_window_seconds": limits.window_seconds,
            },
        )
        if self._write is not None:
            self._write.cancel()  # an earlier trip's write, overtaken by an operator
        self._write = asyncio.get_running_loop().create_task(self._write_share(self._tripped))

    async def _write_share(self, tripped: FallbackState) -> None:
        delay = self._retry_seconds
        while True:
            try:
                await self._close(tripped)
            except Exception:
                logger.exception(
                    "canary fallback could not write the share; retrying in %.1fs", delay
                )
                await self._sleep(delay)
                delay = min(delay * 2, _MAX_RETRY_SECONDS)
                continue
            return
