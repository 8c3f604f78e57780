"""Bounded jittered retries (tenacity) of one call that is safe to repeat, counted under the caller's names."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp
import httpx
from prometheus_client import Counter
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from servicekit.http_client.failures import (
    ATTEMPT_FAILURES,
    NON_TRANSIENT,
    TRANSIENT_STATUSES,
    ServerError,
    nothing_sent,
)

Sleep = Callable[[float], Awaitable[None]]
Attempt = Callable[[], Awaitable[httpx.Response]]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded retries with exponential backoff and jitter."""

    max_attempts: int = 3
    initial_backoff: float = 0.05
    max_backoff: float = 0.5
    sleep: Sleep = asyncio.sleep


@dataclass(frozen=True, slots=True)
class RetryLog:
    """Where a retry is told: a counter labelled ``method`` and ``reason``, and a log line."""

    counter: Counter
    logger: logging.Logger
    message: str


def retry_reason(exc: BaseException) -> str | None:
    """Why ``exc`` may be retried (a metric label), or ``None`` if it must not be."""
    if nothing_sent(exc):
        return "connect"
    if isinstance(exc, NON_TRANSIENT):
        return None
    if isinstance(exc, ServerError):
        return f"status_{exc.status}" if exc.status in TRANSIENT_STATUSES else None
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.NetworkError | httpx.RemoteProtocolError):
        return "network"
    # httpx_aiohttp passes some aiohttp errors through unmapped (e.g. a
    # malformed response): the request went out, so treat like a protocol error.
    if isinstance(exc, aiohttp.ClientError):
        return "network"
    return None


async def with_retries(
    method: str, attempt: Attempt, policy: RetryPolicy, log: RetryLog
) -> httpx.Response:
    """Run ``attempt`` until it answers; once retrying stops, the last failure propagates."""
    # The first attempt runs outside tenacity: its per-call machinery is a large
    # share of a fast call (BENCHMARKS.md has the figure). On a retryable
    # failure the loop below replays that failure as its attempt 1, so counting
    # and backoff are exactly tenacity's.
    try:
        return await attempt()
    except (*ATTEMPT_FAILURES, ServerError) as exc:
        if policy.max_attempts == 1 or retry_reason(exc) is None:
            raise
        first_failure: BaseException | None = exc

    async def replay_then_attempt() -> httpx.Response:
        nonlocal first_failure
        if first_failure is not None:
            failure, first_failure = first_failure, None
            raise failure
        return await attempt()

    retrying = AsyncRetrying(
        stop=stop_after_attempt(policy.max_attempts),
        # multiplier=, not initial= (deprecated, and warnings are errors here);
        # jitter scaled to the base step so the first wait stays near it.
        wait=wait_exponential_jitter(
            multiplier=policy.initial_backoff, max=policy.max_backoff, jitter=policy.initial_backoff
        ),
        retry=retry_if_exception(lambda exc: retry_reason(exc) is not None),
        before_sleep=lambda state: _count_retry(method, state, log),
        sleep=policy.sleep,
        reraise=True,
    )
    return await retrying(replay_then_attempt)


def _count_retry(method: str, state: RetryCallState, log: RetryLog) -> None:
    exc = state.outcome.exception() if state.outcome is not None else None
    reason = retry_reason(exc) if exc is not None else None
    log.counter.labels(method, reason or "unknown").inc()
    log.logger.info(
        log.message,
        extra={
            "method": method,
            "attempt": state.attempt_number,
            "reason": reason,
            "error": type(exc).__name__,
        },
    )
