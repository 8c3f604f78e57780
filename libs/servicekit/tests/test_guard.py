"""The guarded call (ADR 0031) on an example remote, the warehouse (``warehouse.py``)."""

import asyncio
import time

import httpx
import pytest
from prometheus_client import REGISTRY

from libs.servicekit.tests.remotes import METRICS, QueueFull, RemoteDown
from libs.servicekit.tests.warehouse import (
    METHOD,
    RETRIES,
    Sleeps,
    Warehouse,
    call,
    fails,
    hang,
    ok,
    raises,
    state,
    status,
)
from servicekit.deadlines import budget
from servicekit.http_client import guard as guard_module
from servicekit.http_client.guard import Guard
from servicekit.http_client.protect import BreakerState, Bulkhead, CircuitBreaker
from servicekit.http_client.retries import RetryPolicy


class Clock:
    """The breaker's monotonic clock: it moves only when told to."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make_guard(clock: Clock, *, threshold: int = 5, reset: float = 5.0) -> Guard:
    return Guard(
        "warehouse",
        breaker=CircuitBreaker(
            threshold,
            reset,
            name="warehouse",
            metrics=METRICS,
            unavailable=RemoteDown,
            clock=clock,
        ),
        bulkhead=Bulkhead(100, 1.0, name="warehouse", metrics=METRICS, refused=QueueFull),
        unavailable=RemoteDown,
        retries=RETRIES,
    )


def retried(reason: str) -> float:
    labels = {"method": METHOD, "reason": reason}
    return REGISTRY.get_sample_value("kittest_guard_retries_total", labels) or 0.0


# --- answers ---------------------------------------------------------------------------


@pytest.mark.parametrize("code", [200, 404])
async def test_an_answer_below_500_passes_through_and_counts_as_a_success(
    code: int, warehouse: Warehouse, clock: Clock, sleeps: Sleeps
) -> None:
    guard = make_guard(clock, threshold=2)
    warehouse.handler = status(503)
    await fails(guard, warehouse, sleeps, attempts=1)  # one failure of two

    warehouse.handler = ok if code == 200 else status(code)
    response = await call(guard, warehouse, sleeps)
    assert response.status_code == code
    if code == 200:
        assert response.json() == {"sku": "W-1", "available": 3}
    assert warehouse.requests[-1].headers["Accept"] == "application/json"

    # The success reset the count: one more failure does not open the breaker.
    warehouse.handler = status(503)
    await fails(guard, warehouse, sleeps, attempts=1)
    assert state(guard) is BreakerState.CLOSED
    assert len(warehouse.requests) == 3
    assert sleeps.waits == []


async def test_a_transient_5xx_is_retried_then_ends_as_unavailable_that_may_have_applied(
    warehouse: Warehouse, clock: Clock, sleeps: Sleeps
) -> None:
    guard = make_guard(clock)
    warehouse.handler = status(503, **{"Retry-After": "7"})
    before = retried("status_503")

    error = await fails(guard, warehouse, sleeps, attempts=3)

    assert str(error) == f"warehouse answered {METHOD} with HTTP 503"
    assert error.retry_after == 7
    assert error.maybe_applied is True
    assert len(warehouse.requests) == 3
    assert len(sleeps.waits) == 2  # the policy's backoff, through its own sleep
    assert retried("status_503") == before + 2
    assert state(guard) is BreakerState.CLOSED  # 3 failures of 5


async def test_a_500_is_not_retried(warehouse: Warehouse, clock: Clock, sleeps: Sleeps) -> None:
    guard = make_guard(clock)
    warehouse.handler = status(500)

    error = await fails(guard, warehouse, sleeps, attempts=3)

    assert str(error) == f"warehouse answered {METHOD} with HTTP 500"
    assert (error.retry_after, error.maybe_applied) == (1, True)
    assert len(warehouse.requests) == 1


async def test_a_connect_error_is_retried_and_ends_as_never_applied(
    warehouse: Warehouse, clock: Clock, sleeps: Sleeps
) -> None:
    guard = make_guard(clock)
    warehouse.handler = raises(httpx.ConnectError("connection refused"))
    before = retried("connect")

    error = await fails(guard, warehouse, sleeps, attempts=3)

    assert str(error) == f"warehouse unreachable for {METHOD}: ConnectError"
    assert (error.retry_after, error.maybe_applied) == (1, False)
    assert len(warehouse.requests) == 3
    assert retried("connect") == before + 2


async def test_a_read_timeout_after_sending_may_have_applied(
    warehouse: Warehouse, clock: Clock, sleeps: Sleeps
) -> None:
    guard = make_guard(clock)
    warehouse.handler = raises(httpx.ReadTimeout("slow"))

    error = await fails(guard, warehouse, sleeps, attempts=2)

    assert str(error) == f"warehouse unreachable for {METHOD}: ReadTimeout"
    assert error.maybe_applied is True
    assert len(warehouse.requests) == 2


async def test_a_policy_of_one_attempt_tries_once(
    warehouse: Warehouse, clock: Clock, sleeps: Sleeps
) -> None:
    guard = make_guard(clock)
    warehouse.handler = status(503)

    error = await fails(guard, warehouse, sleeps, attempts=1)

    assert str(error) == f"warehouse answered {METHOD} with HTTP 503"
    assert len(warehouse.requests) == 1
    assert sleeps.waits == []


# --- the breaker -----------------------------------------------------------------------


async def test_the_breaker_opens_after_n_failures_and_then_fails_fast_without_a_request(
    warehouse: Warehouse, clock: Clock, sleeps: Sleeps
) -> None:
    guard = make_guard(clock, threshold=2, reset=10.0)
    warehouse.handler = status(503)
    for _ in range(2):
        await fails(guard, warehouse, sleeps, attempts=1)
    assert state(guard) is BreakerState.OPEN
    warehouse.handler = ok

    error = await fails(guard, warehouse, sleeps)

    assert str(error) == "warehouse circuit is open; failing fast"
    assert (error.retry_after, error.maybe_applied) == (10, False)
    assert len(warehouse.requests) == 2

    clock.now += 10  # past the reset time: the next call is the probe, and it closes
    assert (await call(guard, warehouse, sleeps)).status_code == 200
    assert state(guard) is BreakerState.CLOSED
    assert len(warehouse.requests) == 3


async def test_a_retry_the_breaker_refuses_still_says_the_call_may_have_applied(
    warehouse: Warehouse, clock: Clock, sleeps: Sleeps
) -> None:
    # The second 503 opens the breaker, which refuses the third attempt: the first
    # two reached the remote, so a write may have taken effect there (ADR 0009).
    guard = make_guard(clock, threshold=2, reset=10.0)
    warehouse.handler = status(503)

    error = await fails(guard, warehouse, sleeps, attempts=3)

    assert error.maybe_applied is True
    assert str(error) == "warehouse circuit is open; failing fast"
    assert error.retry_after == 10
    assert len(warehouse.requests) == 2
    assert state(guard) is BreakerState.OPEN


async def test_a_retry_refused_before_anything_was_sent_never_applied(
    warehouse: Warehouse, clock: Clock, sleeps: Sleeps
) -> None:
    guard = make_guard(clock, threshold=1, reset=10.0)
    warehouse.handler = raises(httpx.ConnectError("connection refused"))

    error = await fails(guard, warehouse, sleeps, attempts=3)

    assert error.maybe_applied is False
    assert str(error) == "warehouse circuit is open; failing fast"
    assert len(warehouse.requests) == 1


# --- deadlines and budgets -------------------------------------------------------------


async def test_the_deadline_cuts_a_hanging_send_and_counts_as_a_failure(
    warehouse: Warehouse, clock: Clock, sleeps: Sleeps
) -> None:
    guard = make_guard(clock, threshold=1)
    warehouse.handler = hang

    started = time.perf_counter()
    error = await fails(guard, warehouse, sleeps, deadline=0.05)

    assert time.perf_counter() - started < 1.0
    assert str(error) == f"warehouse did not answer within 0.05s ({METHOD})"
    assert error.maybe_applied is True  # cut mid-request: it may have gone out
    assert len(warehouse.requests) == 1
    assert state(guard) is BreakerState.OPEN
    assert guard.breaker.open_reason == "1 consecutive failures"
    assert guard.bulkhead.in_flight == 0


@pytest.mark.parametrize("seconds", [0.0, -1.0])
async def test_a_spent_budget_fails_at_once_without_a_request(
    seconds: float, warehouse: Warehouse, clock: Clock, sleeps: Sleeps
) -> None:
    guard = make_guard(clock)

    with budget(seconds):
        error = await fails(guard, warehouse, sleeps)

    assert str(error) == f"no budget left for {METHOD}"
    assert (error.retry_after, error.maybe_applied) == (1, False)
    assert warehouse.requests == []
    assert state(guard) is BreakerState.CLOSED


async def test_the_budget_cuts_the_deadline_and_is_what_a_call_waits(
    warehouse: Warehouse, clock: Clock, sleeps: Sleeps
) -> None:
    guard = make_guard(clock, threshold=1)
    warehouse.handler = hang

    started = time.perf_counter()
    with budget(0.05):
        error = await fails(guard, warehouse, sleeps, deadline=5.0)

    assert time.perf_counter() - started < 1.0  # the budget's 0.05 s, not the 5 s deadline
    # The detail names what cut the call: the caller's budget, not the method's 5 s.
    assert str(error).startswith("warehouse did not answer within the caller's remaining 0.0")
    assert str(error).endswith(f"s ({METHOD})")
    assert error.maybe_applied is True
    assert warehouse.budgets()[0] <= 50


@pytest.mark.parametrize(
    ("caller_budget", "low", "high"),
    [(None, 4_900, 5_000), (2.0, 1_900, 2_000), (30.0, 4_900, 5_000)],
)
async def test_every_attempt_sends_the_milliseconds_left(
    caller_budget: float | None,
    low: int,
    high: int,
    warehouse: Warehouse,
    clock: Clock,
) -> None:
    guard = make_guard(clock)
    answers = iter([httpx.Response(503), httpx.Response(200)])

    async def then_ok(request: httpx.Request) -> httpx.Response:
        return next(answers)

    async def backoff(seconds: float) -> None:
        await asyncio.sleep(0.02)  # the retry's wait, on the loop's clock

    warehouse.handler = then_ok
    with budget(caller_budget):
        response = await guard.call(
            METHOD,
            warehouse.send,
            {},
            deadline=5.0,
            retry=RetryPolicy(max_attempts=3, sleep=backoff),
        )

    assert response.status_code == 200
    first, second = warehouse.budgets()
    assert low < first <= high
    assert second <= first - 15  # the wait between them was spent


# --- the half-open probe ---------------------------------------------------------------


async def test_a_half_open_probe_that_gets_no_answer_is_cut_after_its_own_timeout(
    warehouse: Warehouse, clock: Clock, sleeps: Sleeps, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(guard_module, "PROBE_ATTEMPT_SECONDS", 0.05)
    guard = make_guard(clock, threshold=1, reset=5.0)
    warehouse.handler = raises(httpx.ConnectError("connection refused"))
    await fails(guard, warehouse, sleeps, attempts=1)
    assert state(guard) is BreakerState.OPEN
    clock.now += 5
    warehouse.handler = hang

    started = time.perf_counter()
    error = await fails(guard, warehouse, sleeps, attempts=1, deadline=5.0)

    assert time.perf_counter() - started < 1.0  # the probe's timeout, not the 5 s deadline
    assert str(error) == f"warehouse unreachable for {METHOD}: ReadTimeout"
    assert error.maybe_applied is True
    assert state(guard) is BreakerState.OPEN
    assert guard.breaker.open_reason == "the half-open probe failed"
    assert len(warehouse.requests) == 2


async def test_only_the_probe_gets_the_probe_timeout(
    warehouse: Warehouse, clock: Clock, sleeps: Sleeps, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(guard_module, "PROBE_ATTEMPT_SECONDS", 0.01)
    guard = make_guard(clock)

    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.05)
        return httpx.Response(200)

    warehouse.handler = slow

    assert (await call(guard, warehouse, sleeps, attempts=1)).status_code == 200
