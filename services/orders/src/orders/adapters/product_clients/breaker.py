"""A small asyncio circuit breaker for calls to the products service (see ADR 0003).

closed → open after ``failure_threshold`` consecutive failures; open fails fast
with ``ProductsUnavailable`` (``retry_after`` = seconds left, rounded up) and no
network call; after ``reset_seconds`` it turns half-open and lets exactly one
probe through at a time; the probe's success closes it, its failure re-opens it.
With a ``readiness`` check, an open breaker also asks it every
``readiness_interval`` seconds and closes as soon as it says ready, so the
breaker follows products' recovery instead of waiting the whole reset (ADR 0019).

Async-safe because every state change is synchronous (no ``await`` inside), so
no two coroutines of one event loop can interleave inside a transition. It is
not meant to be shared across threads.
"""

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import IntEnum

from orders.adapters.product_clients.metrics import BREAKER_STATE, BREAKER_TRANSITIONS
from shop_contracts.errors import ProductsUnavailable

Clock = Callable[[], float]
Readiness = Callable[[], Awaitable[bool]]
"""Whether products answers ready now (a failure to ask is "not ready")."""

logger = logging.getLogger(__name__)


class BreakerState(IntEnum):
    """The breaker's state; the value is what the state gauge reports."""

    CLOSED = 0
    OPEN = 1
    HALF_OPEN = 2


@dataclass(frozen=True, slots=True)
class Permit:
    """Leave to make one call; hand it back with the call's verdict."""

    generation: int
    probe: bool


class CircuitBreaker:
    """Fail fast while products is unhealthy; probe once in a while to notice recovery."""

    def __init__(
        self,
        failure_threshold: int,
        reset_seconds: float,
        *,
        name: str = "products",
        clock: Clock = time.monotonic,
        readiness: Readiness | None = None,
        readiness_interval: float = 0.25,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        if reset_seconds <= 0:
            raise ValueError("reset_seconds must be positive")
        self._threshold = failure_threshold
        self._reset_seconds = reset_seconds
        self._name = name
        self._clock = clock
        self._state = BreakerState.CLOSED
        # Bumped on every transition so verdicts of calls admitted under an
        # earlier state (e.g. a slow call that started before the breaker
        # opened) cannot close or trip the breaker after the fact.
        self._generation = 0
        self._failures = 0
        self._opened_at = 0.0
        self._probe_in_flight = False
        self._readiness = readiness
        self._readiness_interval = readiness_interval
        self._watcher: asyncio.Task[None] | None = None
        BREAKER_STATE.labels(name).set(BreakerState.CLOSED)

    @property
    def state(self) -> BreakerState:
        """The current state (an open breaker past its reset time still reads open)."""
        return self._state

    @property
    def name(self) -> str:
        """The ``breaker`` label of this breaker's metrics."""
        return self._name

    def acquire(self) -> Permit:
        """Leave for one call, or ``ProductsUnavailable`` at once when the circuit is open."""
        if self._state is BreakerState.CLOSED:
            return Permit(self._generation, probe=False)
        if self._state is BreakerState.OPEN:
            remaining = self._opened_at + self._reset_seconds - self._clock()
            if remaining > 0:
                raise ProductsUnavailable(
                    "products circuit is open; failing fast", retry_after=_ceil_seconds(remaining)
                )
            self._transition(BreakerState.HALF_OPEN)
        if self._probe_in_flight:
            raise ProductsUnavailable(
                "products circuit is half-open and a probe is in flight", retry_after=1
            )
        self._probe_in_flight = True
        return Permit(self._generation, probe=True)

    def record_success(self, permit: Permit) -> None:
        """The call got an answer from a healthy service (including domain errors)."""
        if permit.generation != self._generation:
            return
        if permit.probe:
            self._transition(BreakerState.CLOSED)
        else:
            self._failures = 0

    def record_failure(self, permit: Permit) -> None:
        """The call failed in a way that says products is unhealthy."""
        if permit.generation != self._generation:
            return
        if permit.probe:
            self._transition(BreakerState.OPEN)
            return
        self._failures += 1
        if self._failures >= self._threshold:
            self._transition(BreakerState.OPEN)

    def abandon(self, permit: Permit) -> None:
        """The call ended without a verdict (cancelled); free the probe slot if it held it."""
        if permit.probe and permit.generation == self._generation:
            self._probe_in_flight = False

    def _transition(self, state: BreakerState) -> None:
        self._state = state
        self._generation += 1
        self._failures = 0
        self._probe_in_flight = False
        if state is BreakerState.OPEN:
            self._opened_at = self._clock()
            self._watch_readiness()
        BREAKER_STATE.labels(self._name).set(state)
        BREAKER_TRANSITIONS.labels(self._name, state.name.lower()).inc()

    def _watch_readiness(self) -> None:
        if self._readiness is None or (self._watcher is not None and not self._watcher.done()):
            return
        try:
            self._watcher = asyncio.get_running_loop().create_task(self._until_ready())
        except RuntimeError:
            return  # no event loop (a synchronous caller): the reset time alone decides

    async def _until_ready(self) -> None:
        assert self._readiness is not None
        while not self._closed():
            await asyncio.sleep(self._readiness_interval)
            if self._closed():
                return
            try:
                ready = await self._readiness()
            except Exception:
                ready = False
            # A probe call admitted meanwhile may have decided already.
            if ready and not self._closed():
                logger.info(
                    "products answers ready; closing the breaker", extra={"breaker": self._name}
                )
                self._transition(BreakerState.CLOSED)

    def _closed(self) -> bool:
        # A call, so that mypy does not carry narrowing across the awaits.
        return self._state is BreakerState.CLOSED

    async def aclose(self) -> None:
        """Stop watching products' readiness (at shutdown)."""
        watcher, self._watcher = self._watcher, None
        if watcher is not None and not watcher.done():
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher


def _ceil_seconds(seconds: float) -> int:
    return max(1, math.ceil(seconds))


class CallVerdicts:
    """Breaker bookkeeping for one logical call: the permit of the attempt in progress.

    Attempts run one after another, so at most one permit is open. A verdict
    hands it back; the deadline handler settles one still open when time ran
    out mid-attempt.
    """

    def __init__(self, breaker: CircuitBreaker) -> None:
        self._breaker = breaker
        self._permit: Permit | None = None

    def admit(self) -> None:
        """Leave for the next attempt (``ProductsUnavailable`` while the circuit is open)."""
        self._permit = self._breaker.acquire()

    def answered(self) -> None:
        """Products answered (any status below 500, domain errors included)."""
        permit, self._permit = self._take()
        self._breaker.record_success(permit)

    def failed(self, *, products_unhealthy: bool) -> None:
        """The attempt failed; only a failure that says products is sick counts."""
        permit, self._permit = self._take()
        if products_unhealthy:
            self._breaker.record_failure(permit)
        else:
            self._breaker.abandon(permit)

    def deadline_passed(self) -> None:
        """The call's deadline cut an attempt short: products hung past it."""
        if self._permit is not None:
            self._breaker.record_failure(self._permit)
            self._permit = None

    def cancelled(self) -> None:
        """The caller went away mid-attempt: no verdict."""
        if self._permit is not None:
            self._breaker.abandon(self._permit)
            self._permit = None

    def _take(self) -> tuple[Permit, None]:
        if self._permit is None:
            raise RuntimeError("no attempt was admitted")
        return self._permit, None
