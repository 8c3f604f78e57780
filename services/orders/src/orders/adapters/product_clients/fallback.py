"""The canary fallback: the http path breaches its thresholds, the canary share drops to 0.

Judged per process over a sliding window (``APP_CANARY_FALLBACK_WINDOW_SECONDS``)
of the calls the router sent to http in canary or http run-time mode (only when
local is built, so there is somewhere to fall back to). Only what happens once
the call holds a bulkhead slot is judged: its latency is measured from the slot
(``bulkhead.on_slot``), and a bulkhead rejection (``BulkheadFull``) is not
recorded at all — queueing in orders is back-pressure, never a products failure
(ADR 0009). A call failed when its outcome (``metrics.outcome_of``) is
``products_unavailable`` or ``error``; domain answers (``insufficient_stock``,
``product_not_found``, ...) are successes. With at least ``APP_CANARY_FALLBACK_MIN_CALLS`` calls in the window,
an error rate above ``APP_CANARY_FALLBACK_MAX_ERROR_RATE`` or a p95 latency above
``APP_CANARY_FALLBACK_MAX_P95_SECONDS`` trips it:

- this process routes everyone to local at once;
- a background task writes ``canary_share=0`` (and ``products_client=canary`` if
  the stored one is ``http``) through the flag store as ``canary-fallback``
  (``application.close_canary``: decided under the store's write lock), with the
  numbers and thresholds as the reason, retrying until the write lands; the
  other processes follow at their next refresh. The write is conditional: if
  an operator changed ``canary_share`` or ``products_client`` after the trip, it
  is skipped and the operator's flags stand. On shutdown a write still retrying
  gets one bounded, shielded final attempt (an error is logged if it fails);
- a warning is logged and ``orders_canary_fallback_trips_total`` counts it.

This process holds everyone on local from the trip until its flag snapshot
shows the fallback's write, or shows an operator's change to either flag.
The window starts empty after a trip. The fallback never raises the share:
only an operator does, and that also ends the ``degraded`` report, which lasts
while the ``canary_share`` override was last written by ``canary-fallback``.
"""

import asyncio
import logging
import math
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from orders.adapters.product_clients.fallback_window import (
    FAILED_OUTCOMES,
    MAX_SAMPLES,
    FallbackThresholds,
    WindowStats,
    p95,
)
from orders.adapters.product_clients.guarded import GuardedProductClient
from orders.adapters.product_clients.metrics import (
    CANARY_FALLBACK_ACTIVE,
    CANARY_FALLBACK_TRIPS,
    CANARY_HTTP_WINDOW_ERROR_RATE,
    CANARY_HTTP_WINDOW_P95_SECONDS,
    CANARY_SHARE,
)
from orders.application.close_canary import close_canary
from orders.application.flags import CANARY_FLAGS, FALLBACK_ACTOR, FlagOverride, FlagStore
from orders.domain.product_client import ProductServiceClient
from servicekit.clock import Clock, utc_now

logger = logging.getLogger(__name__)

__all__ = ["CanaryFallback", "FallbackState"]
_GAUGE_INTERVAL = timedelta(seconds=1)
_MAX_RETRY_SECONDS = 30.0
_FINAL_ATTEMPT_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class FallbackState:
    """Why and when the fallback set the share to 0; ``pending`` until the store has it."""

    at: datetime
    reason: str
    pending: bool = False


@dataclass(frozen=True, slots=True)
class _Call:
    at: datetime
    seconds: float
    failed: bool


class CanaryFallback:
    """Watches the routed http calls; on a breach, sets the canary share to 0 (once)."""

    def __init__(
        self,
        store: FlagStore,
        thresholds: FallbackThresholds,
        *,
        clock: Clock = utc_now,
        retry_seconds: float = 1.0,
        final_attempt_seconds: float = _FINAL_ATTEMPT_SECONDS,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._store = store
        self._thresholds = thresholds
        self._clock = clock
        self._retry_seconds = retry_seconds
        self._final_attempt_seconds = final_attempt_seconds
        self._sleep = sleep
        self._window: deque[_Call] = deque()
        self._failures = 0
        # Calls slower than max_p95_seconds: p95 > max iff they are more than 5 %.
        self._slow = 0
        self._tripped: FallbackState | None = None
        # The canary flags' overrides as this process saw them at the trip.
        self._seen_at_trip: dict[str, FlagOverride | None] = {}
        self._write: asyncio.Task[None] | None = None
        self._generation = 0
        self._gauges_at: datetime | None = None

    @property
    def thresholds(self) -> FallbackThresholds:
        """What trips it."""
        return self._thresholds

    @property
    def holding(self) -> bool:
        """Tripped, and the flags here do not say so yet: this process routes everyone local.

        The hold ends once this process's flag snapshot shows the fallback's
        write, or an operator's change to ``canary_share`` or ``products_client``.
        """
        tripped = self._tripped
        if tripped is None:
            return False
        if self._hold_over(tripped):
            self._tripped = None
            return False
        return True

    def _hold_over(self, tripped: FallbackState) -> bool:
        overrides = self._store.overrides()
        for name in CANARY_FLAGS:
            now = overrides.get(name)
            if now != self._seen_at_trip.get(name) and (
                now is None or (now.updated_by != FALLBACK_ACTOR and now.updated_at > tripped.at)
            ):
                return True  # an operator changed it since the trip: their flags stand
        if tripped.pending:
            return False
        share = overrides.get("canary_share")
        return (
            share is not None
            and share.updated_by == FALLBACK_ACTOR
            and share.updated_at >= tripped.at
        )

    @property
    def generation(self) -> int:
        """Changes at each trip; a call started before one is not judged after it."""
        return self._generation

    def guard(self, client: ProductServiceClient) -> ProductServiceClient:
        """``client`` with every call recorded in this window."""
        return GuardedProductClient(client, self)

    def record(self, seconds: float, outcome: str, generation: int | None = None) -> None:
        """One routed http call that ended with ``outcome`` after ``seconds``."""
        if self._tripped is not None or (generation is not None and generation != self._generation):
            return  # already falling back, or a call from before the last trip
        now = self._clock()
        call = _Call(now, seconds, outcome in FAILED_OUTCOMES)
        self._window.append(call)
        self._failures += call.failed
        self._slow += seconds > self._thresholds.max_p95_seconds
        if len(self._window) > MAX_SAMPLES:
            self._drop(self._window.popleft())
        self._expire(now)
        stats = self._breach()
        if stats is not None:
            self._trip(stats)
        elif self._gauges_at is None or now - self._gauges_at >= _GAUGE_INTERVAL:
            self._publish(now)

    def products_down(self, why: str) -> None:
        """The http client saw products stop answering (its breaker opened): trip now.

        The same signal the breaker acts on (a hang, or products' own failures;
        never orders' queueing), so users on http move to local within the
        hang limit instead of once the window fills (ADR 0024).
        """
        if self._tripped is not None:
            return
        self._trip(self.stats(), cause=f"products client breaker opened: {why}")

    def stats(self) -> WindowStats:
        """The window now (older calls dropped)."""
        self._expire(self._clock())
        return WindowStats(
            len(self._window), self._failures, p95([c.seconds for c in self._window])
        )

    def state(self) -> FallbackState | None:
        """The fallback in force: tripped here and holding, or last to set the share."""
        if self.holding:
            return self._tripped
        override = self._store.overrides().get("canary_share")
        if override is None or override.updated_by != FALLBACK_ACTOR:
            return None
        return FallbackState(override.updated_at, override.reason)

    def publish_active(self) -> bool:
        """Set ``orders_canary_fallback_active`` from ``state()``; whether it is active."""
        active = self.state() is not None
        CANARY_FALLBACK_ACTIVE.set(1 if active else 0)
        return active

    async def settled(self) -> None:
        """Wait until a pending write has landed (tests, shutdown)."""
        if self._write is not None:
            await asyncio.shield(self._write)

    async def aclose(self) -> None:
        """On shutdown: stop a write still retrying, then make one bounded final attempt.

        The final attempt is shielded from the shutdown's own cancellation and
        bounded by ``final_attempt_seconds``; if it fails, an error is logged
        (the trip is then lost for the other processes: an operator must set
        ``canary_share`` to 0).
        """
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
        written = await close_canary(
            self._store, actor=FALLBACK_ACTOR, reason=tripped.reason, tripped_at=tripped.at
        )
        if not written:
            logger.warning(
                "canary fallback's write skipped: canary_share or products_client was"
                " changed after the trip by an operator, whose flags stand",
                extra={"fallback_reason": tripped.reason},
            )
        if self._tripped is tripped:  # still this trip's hold
            self._tripped = FallbackState(tripped.at, tripped.reason) if written else None

    def _drop(self, call: _Call) -> None:
        self._failures -= call.failed
        self._slow -= call.seconds > self._thresholds.max_p95_seconds

    def _expire(self, now: datetime) -> None:
        horizon = now - timedelta(seconds=self._thresholds.window_seconds)
        while self._window and self._window[0].at <= horizon:
            self._drop(self._window.popleft())

    def _breach(self) -> WindowStats | None:
        limits = self._thresholds
        calls = len(self._window)
        if calls < limits.min_calls:
            return None
        # Nearest-rank p95 is above the limit iff the calls above it number at least
        # calls - ceil(0.95 * calls) + 1: checked in O(1) on every call.
        slow_limit = calls - math.ceil(0.95 * calls) + 1
        if self._failures / calls > limits.max_error_rate or self._slow >= slow_limit:
            return self.stats()
        return None

    def _publish(self, now: datetime) -> None:
        self._gauges_at = now
        stats = WindowStats(
            len(self._window), self._failures, p95([c.seconds for c in self._window])
        )
        CANARY_HTTP_WINDOW_ERROR_RATE.set(stats.error_rate)
        CANARY_HTTP_WINDOW_P95_SECONDS.set(stats.p95_seconds)

    def _trip(self, stats: WindowStats, cause: str | None = None) -> None:
        limits = self._thresholds
        reason = cause or (
            f"http error rate {stats.error_rate:.3f} (max {limits.max_error_rate}),"
            f" p95 {stats.p95_seconds:.3f}s (max {limits.max_p95_seconds}s)"
            f" over {stats.calls} calls in {limits.window_seconds:g}s"
            f" (min {limits.min_calls})"
        )
        now = self._clock()
        overrides = self._store.overrides()
        self._seen_at_trip = {name: overrides.get(name) for name in CANARY_FLAGS}
        self._tripped = FallbackState(now, reason, pending=True)
        self._generation += 1
        self._window.clear()
        self._failures = self._slow = 0
        CANARY_HTTP_WINDOW_ERROR_RATE.set(stats.error_rate)
        CANARY_HTTP_WINDOW_P95_SECONDS.set(stats.p95_seconds)
        CANARY_FALLBACK_TRIPS.inc()
        CANARY_FALLBACK_ACTIVE.set(1)
        CANARY_SHARE.set(0)
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
