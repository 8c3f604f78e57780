"""A ``Guard`` for a pool of connections: its adaptive limit, readiness-watching breaker and hang watch (ADRs 0009, 0019, 0024, 0031)."""

import asyncio
import math
from collections.abc import Awaitable, Callable

import httpx

from servicekit.http_client.guard import Guard, Unavailable
from servicekit.http_client.protect import (
    AdaptiveLimit,
    Bulkhead,
    CircuitBreaker,
    HangWatch,
    ProtectionMetrics,
)
from servicekit.http_client.protect.bulkhead import Refused
from servicekit.http_client.retries import RetryLog

READINESS_INTERVAL_SECONDS = 0.25
"""How often an open breaker asks the remote's readiness (ADR 0019)."""
READINESS_CLOSED_INTERVAL_SECONDS = 1.0
"""How often a closed breaker asks it, so readiness reports what is true now (ADR 0024)."""
READINESS_TIMEOUT_SECONDS = 1.0
MIN_LIMIT_SHARE = 0.25
"""The adaptive limit never drops below this share of the connections (ADR 0024)."""


def guard_over_pool(
    name: str,
    *,
    metrics: ProtectionMetrics,
    ready: Callable[[], Awaitable[httpx.Response]],
    max_connections: int,
    queue_timeout: float,
    failure_threshold: int,
    reset_seconds: float,
    hang_seconds: float,
    unavailable: Unavailable,
    refused: Refused,
    retries: RetryLog,
    work_started: Callable[[], None] = lambda: None,
) -> Guard:
    """The guard of a pool of ``max_connections``: as many calls in flight, never more.

    The bulkhead's limit adapts below the pool (never under a quarter of it),
    so no call waits for a connection inside the transport (ADR 0009); the
    breaker asks ``ready`` (the remote's readiness endpoint, past bulkhead
    and breaker) in every state, and any answer tells the hang watch the
    remote is not frozen.
    """
    limit = AdaptiveLimit(
        max_connections, min_limit=max(1, math.ceil(max_connections * MIN_LIMIT_SHARE))
    )
    breaker = CircuitBreaker(
        failure_threshold,
        reset_seconds,
        name=name,
        metrics=metrics,
        unavailable=unavailable,
        readiness_interval=READINESS_INTERVAL_SECONDS,
        closed_interval=READINESS_CLOSED_INTERVAL_SECONDS,
    )
    hangs = HangWatch(
        breaker.trip,
        name=name,
        baseline=lambda: limit.baseline_seconds,
        floor_seconds=hang_seconds,
    )

    async def remote_ready() -> bool:
        async with asyncio.timeout(READINESS_TIMEOUT_SECONDS):
            response = await ready()
        hangs.progress()  # it answered: whatever it said, it is not frozen
        return response.status_code == 200

    breaker.watch(remote_ready)
    bulkhead = Bulkhead(
        max_connections,
        queue_timeout,
        name=name,
        metrics=metrics,
        refused=refused,
        adaptive=limit,
        work_started=work_started,
    )
    return Guard(
        name,
        breaker=breaker,
        bulkhead=bulkhead,
        unavailable=unavailable,
        retries=retries,
        hangs=hangs,
    )
