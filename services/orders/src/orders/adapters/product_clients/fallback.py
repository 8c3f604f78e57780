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
  it was ``http``) through the flag store as ``canary-fallback``, with the
  numbers and thresholds as the reason, retrying until the write lands; the
  other processes follow at their next refresh;
- a warning is logged and ``orders_canary_fallback_trips_total`` counts it.

The window starts empty after a trip. The fallback never raises the share:
only an operator does, and that also ends the ``degraded`` report, which lasts
while the ``canary_share`` override was last written by ``canary-fallback``.
"""

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar
from uuid import UUID

from orders.adapters.product_clients.http.bulkhead import BulkheadFull, on_slot
from orders.adapters.product_clients.metrics import (
    CANARY_FALLBACK_ACTIVE,
    CANARY_FALLBACK_TRIPS,
    CANARY_HTTP_WINDOW_ERROR_RATE,
    CANARY_HTTP_WINDOW_P95_SECONDS,
    CANARY_SHARE,
    outcome_of,
)
from orders.application.flags import FlagStore
from orders.config import ProductsClientMode, Settings
from orders.domain.product_client import ProductServiceClient
from servicekit.clock import Clock, utc_now
from shop_contracts.errors import ErrorCode
from shop_contracts.products import Product, ProductLookup, StockCheck
from shop_contracts.reservations import Reservation, ReservationLineRequest

logger = logging.getLogger(__name__)

T = TypeVar("T")

FALLBACK_ACTOR = "canary-fallback"
FAILED_OUTCOMES = frozenset({ErrorCode.PRODUCTS_UNAVAILABLE.value, "error"})
MAX_SAMPLES = 10_000
"""The window keeps at most this many calls (the newest): bounded memory at any rate."""
_GAUGE_INTERVAL = timedelta(seconds=1)
_MAX_RETRY_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class FallbackThresholds:
    """When the http path counts as broken (``APP_CANARY_FALLBACK_*``)."""

    window_seconds: float
    min_calls: int
    max_error_rate: float
    max_p95_seconds: float

    @classmethod
    def from_settings(cls, settings: Settings) -> "FallbackThresholds":
        """The thresholds the settings give."""
        return cls(
            window_seconds=settings.canary_fallback_window_seconds,
            min_calls=settings.canary_fallback_min_calls,
            max_error_rate=settings.canary_fallback_max_error_rate,
            max_p95_seconds=settings.canary_fallback_max_p95_seconds,
        )


@dataclass(frozen=True, slots=True)
class WindowStats:
    """The http path's calls in the window."""

    calls: int
    failures: int
    p95_seconds: float

    @property
    def error_rate(self) -> float:
        """Failures / calls (0 without calls)."""
        return self.failures / self.calls if self.calls else 0.0


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


def p95(seconds: Sequence[float]) -> float:
    """Nearest-rank 95th percentile (0 without samples)."""
    if not seconds:
        return 0.0
    ordered = sorted(seconds)
    return ordered[math.ceil(0.95 * len(ordered)) - 1]


class CanaryFallback:
    """Watches the routed http calls; on a breach, sets the canary share to 0 (once)."""

    def __init__(
        self,
        store: FlagStore,
        thresholds: FallbackThresholds,
        *,
        clock: Clock = utc_now,
        retry_seconds: float = 1.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._store = store
        self._thresholds = thresholds
        self._clock = clock
        self._retry_seconds = retry_seconds
        self._sleep = sleep
        self._window: deque[_Call] = deque()
        self._failures = 0
        # Calls slower than max_p95_seconds: p95 > max iff they are more than 5 %.
        self._slow = 0
        self._tripped: FallbackState | None = None
        self._write: asyncio.Task[None] | None = None
        self._generation = 0
        self._gauges_at: datetime | None = None

    @property
    def thresholds(self) -> FallbackThresholds:
        """What trips it."""
        return self._thresholds

    @property
    def holding(self) -> bool:
        """Tripped, and the store does not say so yet: this process routes everyone local."""
        return self._tripped is not None

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

    def stats(self) -> WindowStats:
        """The window now (older calls dropped)."""
        self._expire(self._clock())
        return WindowStats(
            len(self._window), self._failures, p95([c.seconds for c in self._window])
        )

    def state(self) -> FallbackState | None:
        """The fallback in force: tripped here and pending, or last to set the share."""
        if self._tripped is not None:
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
        """Cancel a write still retrying and wait for it (call on shutdown)."""
        task, self._write = self._write, None
        if task is None:
            return
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

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

    def _trip(self, stats: WindowStats) -> None:
        limits = self._thresholds
        reason = (
            f"http error rate {stats.error_rate:.3f} (max {limits.max_error_rate}),"
            f" p95 {stats.p95_seconds:.3f}s (max {limits.max_p95_seconds}s)"
            f" over {stats.calls} calls in {limits.window_seconds:g}s"
            f" (min {limits.min_calls})"
        )
        now = self._clock()
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
        self._write = asyncio.get_running_loop().create_task(self._write_share(reason))

    async def _write_share(self, reason: str) -> None:
        delay = self._retry_seconds
        while True:
            updates: dict[str, object] = {"canary_share": 0}
            if self._store.current().products_client is ProductsClientMode.HTTP:
                updates["products_client"] = ProductsClientMode.CANARY.value
            try:
                await self._store.change(updates, actor=FALLBACK_ACTOR, reason=reason)
            except Exception:
                logger.exception(
                    "canary fallback could not write the share; retrying in %.1fs", delay
                )
                await self._sleep(delay)
                delay = min(delay * 2, _MAX_RETRY_SECONDS)
                continue
            break
        # The store has it now: routing follows the flags (share 0) from here on.
        self._tripped = None


class GuardedProductClient:
    """A routed http client whose every call's latency and outcome feed the fallback.

    The latency runs from the moment the call holds a bulkhead slot (from its
    start if it never took one); a ``BulkheadFull`` rejection is not recorded.
    """

    def __init__(
        self,
        inner: ProductServiceClient,
        fallback: CanaryFallback,
        *,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._inner = inner
        self._fallback = fallback
        self._timer = timer

    @property
    def inner(self) -> ProductServiceClient:
        """The http path's client."""
        return self._inner

    async def get_product(self, product_id: UUID) -> Product:
        """One product."""
        return await self._judged(lambda: self._inner.get_product(product_id))

    async def lookup_products(self, product_ids: Sequence[UUID]) -> ProductLookup:
        """Many products in one round trip."""
        return await self._judged(lambda: self._inner.lookup_products(product_ids))

    async def check_stock(self, product_id: UUID, quantity: int) -> StockCheck:
        """Whether ``quantity`` units are available now."""
        return await self._judged(lambda: self._inner.check_stock(product_id, quantity))

    async def reserve(
        self, reservation_key: str, lines: Sequence[ReservationLineRequest]
    ) -> Reservation:
        """Hold stock for every line or none."""
        return await self._judged(lambda: self._inner.reserve(reservation_key, lines))

    async def confirm(self, reservation_id: UUID) -> Reservation:
        """Make a hold permanent."""
        return await self._judged(lambda: self._inner.confirm(reservation_id))

    async def release(self, reservation_id: UUID) -> Reservation:
        """Return a hold's stock."""
        return await self._judged(lambda: self._inner.release(reservation_id))

    async def release_by_key(self, reservation_key: str) -> Reservation:
        """Return whatever is held under a key and retire the key."""
        return await self._judged(lambda: self._inner.release_by_key(reservation_key))

    async def get_reservation(self, reservation_id: UUID) -> Reservation:
        """A reservation's current state."""
        return await self._judged(lambda: self._inner.get_reservation(reservation_id))

    async def _judged(self, call: Callable[[], Awaitable[T]]) -> T:
        generation = self._fallback.generation
        start = [self._timer()]

        def slot_taken() -> None:
            start[-1] = self._timer()  # the wait for the slot is orders' queueing

        with on_slot(slot_taken):
            try:
                result = await call()
            except asyncio.CancelledError:
                raise  # the caller gave up: says nothing about products
            except BulkheadFull:
                raise  # orders' back-pressure, never a products failure (ADR 0009)
            except BaseException as exc:
                self._fallback.record(self._timer() - start[-1], outcome_of(exc), generation)
                raise
        self._fallback.record(self._timer() - start[-1], outcome_of(None), generation)
        return result
