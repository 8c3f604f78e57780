"""An asyncio circuit breaker for a remote side, following its readiness (ADRs 0003, 0019, 0024)."""

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum

from servicekit.http_client.protect.metrics import ProtectionMetrics

Clock = Callable[[], float]
Readiness = Callable[[], Awaitable[bool]]
"""Whether the remote answers ready now (a failure to ask is "not ready")."""
Unavailable = Callable[[str, int], Exception]
"""Builds the fail-fast error from its detail and a Retry-After in whole seconds."""
OpenListener = Callable[[str], None]
"""Called with the reason whenever the breaker opens."""

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


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """What one readiness check of the remote saw, and when."""

    at: datetime
    ready: bool
    seconds: float
    error: str | None = None


class CircuitBreaker:
    """Fail fast while the remote ``name`` is unhealthy; probe now and then to notice recovery."""

    def __init__(
        self,
        failure_threshold: int,
        reset_seconds: float,
        *,
        name: str,
        metrics: ProtectionMetrics,
        unavailable: Unavailable,
        clock: Clock = time.monotonic,
        readiness: Readiness | None = None,
        readiness_interval: float = 0.25,
        closed_interval: float | None = None,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        if reset_seconds <= 0:
            raise ValueError("reset_seconds must be positive")
        self._threshold = failure_threshold
        self._reset_seconds = reset_seconds
        self._name = name
        self._metrics = metrics
        self._unavailable = unavailable
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
        # None: ask only while not closed; a number: keep asking that often while closed.
        self._closed_interval = closed_interval
        self._watcher: asyncio.Task[None] | None = None
        self._last_probe: ProbeResult | None = None
        self._open_reason = ""
        self._listeners: list[OpenListener] = []
        metrics.breaker_state.labels(name).set(BreakerState.CLOSED)

    @property
    def state(self) -> BreakerState:
        """The current state (an open breaker past its reset time still reads open)."""
        return self._state

    @property
    def name(self) -> str:
        """The remote's name: the ``breaker`` label of the metrics and the subject of the logs."""
        return self._name

    @property
    def last_probe(self) -> ProbeResult | None:
        """The latest readiness check's result (None before the first)."""
        return self._last_probe

    @property
    def open_reason(self) -> str:
        """Why the breaker last opened ("" if it never did)."""
        return self._open_reason

    def on_open(self, listener: OpenListener) -> None:
        """Call ``listener(reason)`` whenever the breaker opens (never raises into it)."""
        self._listeners.append(listener)

    def watch(self, readiness: Readiness) -> None:
        """Use ``readiness`` as the remote's readiness check (when built before it)."""
        self._readiness = readiness

    def start(self) -> None:
        """Keep checking the remote's readiness from now on, in any state (needs a loop)."""
        self._watch_readiness()

    def trip(self, reason: str) -> None:
        """Open now: the remote stopped answering (a hang seen by the client, ADR 0024)."""
        if self._state is not BreakerState.OPEN:
            self._transition(BreakerState.OPEN, reason)

    def acquire(self) -> Permit:
        """Leave for one call, or the ``unavailable`` error at once when the circuit is open."""
        if self._state is BreakerState.CLOSED:
            return Permit(self._generation, probe=False)
        if self._state is BreakerState.OPEN:
            remaining = self._opened_at + self._reset_seconds - self._clock()
            if remaining > 0:
                raise self._unavailable(
                    f"{self._name} circuit is open; failing fast", max(1, math.ceil(remaining))
                )
            self._transition(BreakerState.HALF_OPEN)
        if self._probe_in_flight:
            raise self._unavailable(
                f"{self._name} circuit is half-open and a probe is in flight", 1
            )
        self._probe_in_flight = True
        return Permit(self._generation, probe=True)

    def record_success(self, permit: Permit) -> None:
        """The call got an answer from a healthy remote (including domain errors)."""
        if permit.generation != self._generation:
            return
        if permit.probe:
            self._transition(BreakerState.CLOSED)
        else:
            self._failures = 0

    def record_failure(self, permit: Permit) -> None:
        """The call failed in a way that says the remote is unhealthy."""
        if permit.generation != self._generation:
            return
        if permit.probe:
            self._transition(BreakerState.OPEN, "the half-open probe failed")
            return
        self._failures += 1
        if self._failures >= self._threshold:
            self._transition(BreakerState.OPEN, f"{self._failures} consecutive failures")

    def abandon(self, permit: Permit) -> None:
        """The call ended without a verdict (cancelled); free the probe slot if it held it."""
        if permit.probe and permit.generation == self._generation:
            self._probe_in_flight = False

    def _transition(self, state: BreakerState, reason: str = "") -> None:
        self._state = state
        self._generation += 1
        self._failures = 0
        self._probe_in_flight = False
        if state is BreakerState.OPEN:
            self._opened_at = self._clock()
            self._open_reason = reason
            self._watch_readiness()
        self._metrics.breaker_state.labels(self._name).set(state)
        self._metrics.breaker_transitions.labels(self._name, state.name.lower()).inc()
        if state is BreakerState.OPEN:
            logger.warning(
                "%s breaker opened: %s", self._name, reason, extra={"breaker": self._name}
            )
            for listener in self._listeners:
                try:
                    listener(reason)
                except Exception:
                    logger.exception("a breaker listener failed")

    def _watch_readiness(self) -> None:
        if self._readiness is None or (self._watcher is not None and not self._watcher.done()):
            return
        try:
            self._watcher = asyncio.get_running_loop().create_task(self._until_ready())
        except RuntimeError:
            return  # no event loop (a synchronous caller): the reset time alone decides

    async def _until_ready(self) -> None:
        while True:
            if self._closed():
                if self._closed_interval is None:
                    return
                await asyncio.sleep(self._closed_interval)
            else:
                await asyncio.sleep(self._readiness_interval)
                if self._closed() and self._closed_interval is None:
                    return
            ready = await self._probe()
            # A probe call admitted meanwhile may have decided already.
            if ready and not self._closed():
                logger.info(
                    "%s answers ready; closing the breaker",
                    self._name,
                    extra={"breaker": self._name},
                )
                self._transition(BreakerState.CLOSED)

    async def _probe(self) -> bool:
        assert self._readiness is not None
        started = time.perf_counter()
        error: str | None = None
        try:
            ready = await self._readiness()
        except Exception as exc:
            ready, error = False, type(exc).__name__
        self._last_probe = ProbeResult(
            datetime.now(UTC), ready, time.perf_counter() - started, error
        )
        return ready

    def _closed(self) -> bool:
        # A call, so that mypy does not carry narrowing across the awaits.
        return self._state is BreakerState.CLOSED

    async def aclose(self) -> None:
        """Stop watching the remote's readiness (at shutdown)."""
        watcher, self._watcher = self._watcher, None
        if watcher is not None and not watcher.done():
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher


class CallVerdicts:
    """Breaker bookkeeping for one logical call: the permit of the attempt in progress."""

    def __init__(self, breaker: CircuitBreaker) -> None:
        self._breaker = breaker
        self._permit: Permit | None = None

    @property
    def probing(self) -> bool:
        """The attempt in progress is the half-open probe."""
        return self._permit is not None and self._permit.probe

    def admit(self) -> None:
        """Leave for the next attempt (the breaker's error while the circuit is open)."""
        self._permit = self._breaker.acquire()

    def answered(self) -> None:
        """The remote answered (any status below 500, domain errors included)."""
        permit, self._permit = self._take()
        self._breaker.record_success(permit)

    def failed(self, *, unhealthy: bool) -> None:
        """The attempt failed; only a failure that says the remote is sick counts."""
        permit, self._permit = self._take()
        if unhealthy:
            self._breaker.record_failure(permit)
        else:
            self._breaker.abandon(permit)

    def deadline_passed(self) -> None:
        """The call's deadline cut an attempt short: the remote hung past it."""
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
