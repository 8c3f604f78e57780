"""CircuitBreaker state machine, driven by a fake clock."""

import asyncio
import logging
from collections.abc import Callable

import pytest
from prometheus_client import REGISTRY

from libs.servicekit.tests.remotes import METRICS
from servicekit.http_client.protect import BreakerState, CircuitBreaker


class Down(Exception):
    """The caller's fail-fast error: its detail and Retry-After."""

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class Clock:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


def _breaker(clock: Clock, threshold: int = 3, reset: float = 10.0) -> CircuitBreaker:
    return CircuitBreaker(
        threshold, reset, name="unit", metrics=METRICS, unavailable=Down, clock=clock
    )


def _trip(breaker: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        breaker.record_failure(breaker.acquire())


def _state(breaker: CircuitBreaker) -> BreakerState:
    return breaker.state  # a call, so mypy does not carry narrowing across transitions


def _gauge() -> float | None:
    return REGISTRY.get_sample_value("kittest_remote_breaker_state", {"breaker": "unit"})


def test_starts_closed_and_lets_calls_through() -> None:
    breaker = _breaker(Clock())

    permit = breaker.acquire()

    assert _state(breaker) is BreakerState.CLOSED
    assert not permit.probe
    assert _gauge() == 0


def test_opens_after_threshold_consecutive_failures() -> None:
    breaker = _breaker(Clock(), threshold=3)

    _trip(breaker, 2)
    assert _state(breaker) is BreakerState.CLOSED
    _trip(breaker, 1)

    assert _state(breaker) is BreakerState.OPEN
    assert _gauge() == 1


def test_success_resets_the_consecutive_failure_count() -> None:
    breaker = _breaker(Clock(), threshold=3)

    _trip(breaker, 2)
    breaker.record_success(breaker.acquire())
    _trip(breaker, 2)

    assert _state(breaker) is BreakerState.CLOSED


def test_open_breaker_fails_fast_with_remaining_seconds_rounded_up() -> None:
    clock = Clock()
    breaker = _breaker(clock, threshold=1, reset=10)
    _trip(breaker, 1)
    clock.now += 2.5

    with pytest.raises(Down) as caught:
        breaker.acquire()

    assert caught.value.retry_after == 8


def test_retry_after_is_at_least_one_second() -> None:
    clock = Clock()
    breaker = _breaker(clock, threshold=1, reset=10)
    _trip(breaker, 1)
    clock.now += 9.99

    with pytest.raises(Down) as caught:
        breaker.acquire()

    assert caught.value.retry_after == 1


def test_after_reset_time_exactly_one_probe_is_let_through() -> None:
    clock = Clock()
    breaker = _breaker(clock, threshold=1, reset=10)
    _trip(breaker, 1)
    clock.now += 10

    probe = breaker.acquire()

    assert probe.probe
    assert _state(breaker) is BreakerState.HALF_OPEN
    assert _gauge() == 2
    with pytest.raises(Down, match="probe is in flight"):
        breaker.acquire()


def test_successful_probe_closes_the_breaker() -> None:
    clock = Clock()
    breaker = _breaker(clock, threshold=1, reset=10)
    _trip(breaker, 1)
    clock.now += 10

    breaker.record_success(breaker.acquire())

    assert _state(breaker) is BreakerState.CLOSED
    assert not breaker.acquire().probe


def test_failed_probe_reopens_for_a_full_reset_period() -> None:
    clock = Clock()
    breaker = _breaker(clock, threshold=1, reset=10)
    _trip(breaker, 1)
    clock.now += 15

    breaker.record_failure(breaker.acquire())

    assert _state(breaker) is BreakerState.OPEN
    with pytest.raises(Down) as caught:
        breaker.acquire()
    assert caught.value.retry_after == 10


def test_abandoned_probe_frees_the_slot_for_the_next_caller() -> None:
    clock = Clock()
    breaker = _breaker(clock, threshold=1, reset=10)
    _trip(breaker, 1)
    clock.now += 10

    breaker.abandon(breaker.acquire())

    assert breaker.acquire().probe
    assert _state(breaker) is BreakerState.HALF_OPEN


def test_late_verdicts_from_an_earlier_state_are_ignored() -> None:
    clock = Clock()
    breaker = _breaker(clock, threshold=1, reset=10)
    slow_call = breaker.acquire()
    _trip(breaker, 1)

    breaker.record_success(slow_call)
    assert _state(breaker) is BreakerState.OPEN

    clock.now += 10
    probe = breaker.acquire()
    breaker.record_failure(slow_call)
    assert _state(breaker) is BreakerState.HALF_OPEN
    breaker.record_success(probe)
    assert _state(breaker) is BreakerState.CLOSED


def test_failures_beyond_the_threshold_do_not_extend_the_open_period() -> None:
    clock = Clock()
    breaker = _breaker(clock, threshold=2, reset=10)
    first, second, third = breaker.acquire(), breaker.acquire(), breaker.acquire()
    breaker.record_failure(first)
    breaker.record_failure(second)
    clock.now += 6

    breaker.record_failure(third)

    with pytest.raises(Down) as caught:
        breaker.acquire()
    assert caught.value.retry_after == 4


@pytest.mark.parametrize(("threshold", "reset"), [(0, 1.0), (1, 0.0), (1, -1.0)])
def test_rejects_nonsense_configuration(threshold: int, reset: float) -> None:
    with pytest.raises(ValueError, match="must be"):
        CircuitBreaker(threshold, reset, name="unit", metrics=METRICS, unavailable=Down)


def test_the_error_and_the_log_name_the_remote(caplog: pytest.LogCaptureFixture) -> None:
    breaker = _breaker(Clock(), threshold=2)

    with caplog.at_level(logging.WARNING, logger="servicekit.http_client.protect.breaker"):
        _trip(breaker, 2)
    with pytest.raises(Down, match=r"^unit circuit is open; failing fast$"):
        breaker.acquire()

    assert caplog.messages == ["unit breaker opened: 2 consecutive failures"]
    transitions = "kittest_remote_breaker_transitions_total"
    assert REGISTRY.get_sample_value(transitions, {"breaker": "unit", "state": "open"})


class Readiness:
    """The remote's readiness as the breaker asks it: not ready until told, or broken."""

    def __init__(self) -> None:
        self.ready = False
        self.broken = False
        self.asked = 0

    async def __call__(self) -> bool:
        self.asked += 1
        if self.broken:
            raise ConnectionRefusedError(111, "the remote is down")
        return self.ready


def _watched(clock: Clock, readiness: Readiness) -> CircuitBreaker:
    return CircuitBreaker(
        1,
        600.0,
        name="unit",
        metrics=METRICS,
        unavailable=Down,
        clock=clock,
        readiness=readiness,
        readiness_interval=0.01,
    )


async def _until(predicate: Callable[[], bool]) -> None:
    for _ in range(200):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met")


async def test_an_open_breaker_closes_as_soon_as_the_remote_answers_ready() -> None:
    readiness = Readiness()
    breaker = _watched(Clock(), readiness)
    _trip(breaker, 1)

    await _until(lambda: readiness.asked >= 3)
    assert _state(breaker) is BreakerState.OPEN  # long before the 600 s reset
    readiness.ready = True
    await _until(lambda: _state(breaker) is BreakerState.CLOSED)

    assert not breaker.acquire().probe
    await breaker.aclose()


async def test_a_readiness_check_that_fails_keeps_the_breaker_open() -> None:
    readiness = Readiness()
    readiness.broken = True
    breaker = _watched(Clock(), readiness)
    _trip(breaker, 1)

    await _until(lambda: readiness.asked >= 3)

    assert _state(breaker) is BreakerState.OPEN
    with pytest.raises(Down):
        breaker.acquire()
    await breaker.aclose()


async def test_the_breaker_stops_asking_once_closed() -> None:
    readiness = Readiness()
    readiness.ready = True
    breaker = _watched(Clock(), readiness)
    _trip(breaker, 1)
    await _until(lambda: _state(breaker) is BreakerState.CLOSED)
    asked = readiness.asked

    await asyncio.sleep(0.05)

    assert readiness.asked == asked
    await breaker.aclose()
