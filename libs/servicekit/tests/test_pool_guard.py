"""A guard over a pool (ADR 0031): work started, hangs cut, the readiness report; on the warehouse."""

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
import pytest

from libs.servicekit.tests.remotes import METRICS, QueueFull, RemoteDown
from libs.servicekit.tests.warehouse import (
    METHOD,
    RETRIES,
    Handler,
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
from servicekit.http_client import pool_guard
from servicekit.http_client.guard import Guard
from servicekit.http_client.pool_guard import guard_over_pool
from servicekit.http_client.protect import BreakerState


@asynccontextmanager
async def pooled(
    warehouse: Warehouse,
    *,
    ready: Handler = ok,
    max_connections: int = 4,
    hang_seconds: float = 5.0,
    work_started: Callable[[], None] = lambda: None,
) -> AsyncIterator[Guard]:
    async def remote_ready() -> httpx.Response:
        return await ready(httpx.Request("GET", "http://warehouse.test/health/ready"))

    guard = guard_over_pool(
        "warehouse",
        metrics=METRICS,
        ready=remote_ready,
        max_connections=max_connections,
        queue_timeout=1.0,
        failure_threshold=3,
        reset_seconds=5.0,
        hang_seconds=hang_seconds,
        unavailable=RemoteDown,
        refused=QueueFull,
        retries=RETRIES,
        work_started=work_started,
    )
    try:
        yield guard
    finally:
        await guard.aclose()


async def test_a_pool_guard_tells_work_started_once_a_call_holds_its_slot(
    warehouse: Warehouse, sleeps: Sleeps
) -> None:
    started: list[int] = []
    release = asyncio.Event()
    seen_by_send: list[int] = []

    async def held(request: httpx.Request) -> httpx.Response:
        seen_by_send.append(len(started))
        await release.wait()
        return httpx.Response(200)

    warehouse.handler = held
    async with pooled(
        warehouse, max_connections=1, work_started=lambda: started.append(1)
    ) as guard:
        first = asyncio.create_task(call(guard, warehouse, sleeps))
        await asyncio.sleep(0.01)
        second = asyncio.create_task(call(guard, warehouse, sleeps))
        await asyncio.sleep(0.01)
        # The second call queues for the one slot: its work has not started.
        assert (len(started), guard.bulkhead.waiting) == (1, 1)
        release.set()
        assert (await first).status_code == 200
        assert (await second).status_code == 200

    assert len(started) == 2
    assert seen_by_send == [1, 2]  # told before each send


async def test_a_pool_guard_cuts_the_calls_of_a_remote_that_stopped_answering(
    warehouse: Warehouse, sleeps: Sleeps
) -> None:
    warehouse.handler = hang
    async with pooled(warehouse, hang_seconds=0.05) as guard:
        started = time.perf_counter()
        error = await fails(guard, warehouse, sleeps, deadline=5.0)

        assert time.perf_counter() - started < 1.0
        assert str(error) == f"warehouse stopped answering ({METHOD})"
        assert error.maybe_applied is True
        assert state(guard) is BreakerState.OPEN
        assert guard.breaker.open_reason.startswith("no answer from warehouse for")


# --- report ----------------------------------------------------------------------------


async def first_probe(guard: Guard) -> None:
    """Wait (up to a second) for the breaker's first readiness check."""
    for _ in range(200):
        if guard.breaker.last_probe is not None:
            return
        await asyncio.sleep(0.005)


async def test_report_of_a_closed_breaker_says_its_limit_and_load(
    warehouse: Warehouse, sleeps: Sleeps
) -> None:
    release = asyncio.Event()

    async def held(request: httpx.Request) -> httpx.Response:
        await release.wait()
        return httpx.Response(200)

    warehouse.handler = held
    async with pooled(warehouse, max_connections=8) as guard:
        assert guard.report() == {"mode": "http", "breaker": "closed", "limit": 8, "in_flight": 0}
        pending = asyncio.create_task(call(guard, warehouse, sleeps))
        await asyncio.sleep(0.01)
        assert guard.report()["in_flight"] == 1
        release.set()
        await pending
        assert guard.report()["in_flight"] == 0


async def test_report_of_an_open_breaker_is_degraded_with_the_reason_and_probe(
    warehouse: Warehouse, sleeps: Sleeps, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pool_guard, "READINESS_INTERVAL_SECONDS", 0.01)
    async with pooled(warehouse, ready=status(503)) as guard:
        guard.breaker.trip("the test said so")
        await first_probe(guard)

        report = guard.report()

    probe = report.pop("probe")
    assert report == {
        "mode": "http",
        "breaker": "open",
        "status": "degraded",
        "opened_because": "the test said so",
        "limit": 4,
        "in_flight": 0,
    }
    assert probe["ready"] is False
    assert probe["seconds"] >= 0
    assert "error" not in probe
    assert isinstance(probe["at"], str)


async def test_report_of_a_closed_breaker_whose_readiness_fails_is_degraded(
    warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pool_guard, "READINESS_CLOSED_INTERVAL_SECONDS", 0.01)
    async with pooled(warehouse, ready=raises(httpx.ConnectError("refused"))) as guard:
        guard.start()
        await first_probe(guard)

        report = guard.report()

    assert report["breaker"] == "closed"
    assert report["status"] == "degraded"  # the calls may not have noticed yet
    assert "opened_because" not in report
    assert report["probe"]["ready"] is False
    assert report["probe"]["error"] == "ConnectError"


async def test_report_after_a_ready_probe_is_not_degraded(
    warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pool_guard, "READINESS_CLOSED_INTERVAL_SECONDS", 0.01)
    async with pooled(warehouse) as guard:
        guard.start()
        await first_probe(guard)

        report = guard.report()

    assert report["breaker"] == "closed"
    assert "status" not in report
    assert report["probe"]["ready"] is True
