"""The example remote of the guard's tests, the warehouse, served by ``httpx.MockTransport``."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx
import pytest
from prometheus_client import Counter

from libs.servicekit.tests.remotes import RemoteDown
from servicekit.deadlines import BUDGET_HEADER
from servicekit.http_client.guard import Guard
from servicekit.http_client.protect import BreakerState
from servicekit.http_client.retries import RetryLog, RetryPolicy

RETRIES = RetryLog(
    Counter("kittest_guard_retries_total", "Retried warehouse calls", ["method", "reason"]),
    logging.getLogger(__name__),
    "retrying warehouse call",
)
METHOD = "get_stock"

Handler = Callable[[httpx.Request], Awaitable[httpx.Response]]


@dataclass
class Sleeps:
    """Stands in for ``asyncio.sleep`` in retry policies; remembers the waits."""

    waits: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


async def ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"sku": "W-1", "available": 3})


async def hang(request: httpx.Request) -> httpx.Response:
    await asyncio.Event().wait()  # never set: only a cut ends it
    raise AssertionError("unreachable")


def status(code: int, **headers: str) -> Handler:
    async def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(code, headers=headers)

    return answer


def raises(error: Exception) -> Handler:
    async def fail(request: httpx.Request) -> httpx.Response:
        raise error

    return fail


class Warehouse:
    """The example remote: answers with ``handler`` and keeps every request it got."""

    def __init__(self) -> None:
        self.handler: Handler = ok
        self.requests: list[httpx.Request] = []
        self.http = httpx.AsyncClient(
            base_url="http://warehouse.test", transport=httpx.MockTransport(self._serve)
        )

    async def _serve(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return await self.handler(request)

    async def send(self, headers: dict[str, str]) -> httpx.Response:
        return await self.http.get("/stock/W-1", headers=headers)

    def budgets(self) -> list[int]:
        """The budget header of every request, in milliseconds."""
        return [int(request.headers[BUDGET_HEADER]) for request in self.requests]


def policy(sleeps: Sleeps, attempts: int = 3) -> RetryPolicy:
    return RetryPolicy(max_attempts=attempts, sleep=sleeps)


async def call(
    guard: Guard,
    warehouse: Warehouse,
    sleeps: Sleeps,
    *,
    attempts: int = 3,
    deadline: float = 5.0,
) -> httpx.Response:
    return await guard.call(
        METHOD,
        warehouse.send,
        {"Accept": "application/json"},
        deadline=deadline,
        retry=policy(sleeps, attempts),
    )


async def fails(
    guard: Guard,
    warehouse: Warehouse,
    sleeps: Sleeps,
    *,
    attempts: int = 3,
    deadline: float = 5.0,
) -> RemoteDown:
    with pytest.raises(RemoteDown) as caught:
        await call(guard, warehouse, sleeps, attempts=attempts, deadline=deadline)
    return caught.value


def state(guard: Guard) -> BreakerState:
    return guard.breaker.state  # a call, so mypy does not carry narrowing across calls
