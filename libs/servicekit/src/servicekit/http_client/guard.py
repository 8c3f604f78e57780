"""One remote's calls protected: breaker, bulkhead, deadline, hang watch and retries (ADRs 0003, 0009, 0024, 0031).

A ``Guard`` runs one logical call as its attempts: it waits for a bulkhead slot,
starts the call's deadline once it holds one (queueing here is back-pressure,
not the remote hanging; the caller's budget still bounds the whole), sends the
caller's remaining budget on every attempt, cuts a half-open probe that gets
no answer, retries what is safe to repeat, and gives the breaker a verdict of
every attempt. Whatever fails reaches the caller as the remote's own
"unavailable" error, saying whether the request may have been applied there.
``servicekit.http_client.pool_guard`` builds one for a pool of connections.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import httpx

from servicekit.deadlines import BUDGET_HEADER, remaining
from servicekit.http_client.failures import (
    ATTEMPT_FAILURES,
    ServerError,
    nothing_sent,
    server_unhealthy,
)
from servicekit.http_client.protect import (
    BreakerState,
    Bulkhead,
    CallVerdicts,
    CircuitBreaker,
    HangWatch,
)
from servicekit.http_client.retries import RetryLog, RetryPolicy, with_retries

logger = logging.getLogger(__name__)

PROBE_ATTEMPT_SECONDS = 1.0
"""A half-open probe that gets no answer in this long failed (the remote hung, not slow)."""

Send = Callable[[dict[str, str]], Awaitable[httpx.Response]]
"""Sends one attempt with these headers (the budget header set for it)."""


class Unavailable(Protocol):
    """Builds the remote's "unavailable" error (``shop_contracts``' ``ProductsUnavailable`` fits)."""

    def __call__(
        self, detail: str, retry_after: int = 1, *, maybe_applied: bool = False
    ) -> Exception: ...


class Guard:
    """Every call to the remote ``name`` through one breaker, one bulkhead and one hang watch."""

    def __init__(
        self,
        name: str,
        *,
        breaker: CircuitBreaker,
        bulkhead: Bulkhead,
        unavailable: Unavailable,
        retries: RetryLog,
        hangs: HangWatch | None = None,
    ) -> None:
        self.name = name
        self.breaker = breaker
        self.bulkhead = bulkhead
        self.hangs = hangs
        self._unavailable = unavailable
        self._retries = retries

    def start(self) -> None:
        """Ask the remote's readiness from now on, requests or not (needs a loop)."""
        self.breaker.start()

    async def aclose(self) -> None:
        """Stop the readiness and hang watchers (at shutdown)."""
        await self.breaker.aclose()
        if self.hangs is not None:
            await self.hangs.aclose()

    def report(self) -> dict[str, Any]:
        """Readiness detail: the breaker's state, its last probe and the bulkhead's load.

        Never a failure: a caller that keeps serving what it can while the
        remote is down reports it ("degraded") rather than leave rotation.
        """
        breaker = self.breaker
        state = breaker.state
        details: dict[str, Any] = {"mode": "http", "breaker": state.name.lower()}
        if state is not BreakerState.CLOSED:
            details["status"] = "degraded"  # calls fail fast until the remote recovers
            details["opened_because"] = breaker.open_reason
        probe = breaker.last_probe
        if probe is not None and not probe.ready:
            details["status"] = "degraded"  # the calls may not have noticed yet
        if probe is not None:
            details["probe"] = {
                "ready": probe.ready,
                "at": probe.at.isoformat(),
                "seconds": round(probe.seconds, 4),
                **({"error": probe.error} if probe.error else {}),
            }
        details["limit"] = self.bulkhead.limit
        details["in_flight"] = self.bulkhead.in_flight
        return details

    async def call(
        self,
        method: str,
        send: Send,
        headers: dict[str, str],
        *,
        deadline: float,
        retry: RetryPolicy,
    ) -> httpx.Response:
        """The remote's answer to ``method`` (any status below 500), or its unavailable error."""
        name = self.name
        verdicts = CallVerdicts(self.breaker)
        bulkhead = self.bulkhead
        hangs = self.hangs
        # Whether any attempt may have reached the remote: then a failed
        # write may still have taken effect there (the caller undoes it by key).
        reached = False
        left = remaining()
        if left is not None and left <= 0:
            raise self._unavailable(f"no budget left for {method}", retry_after=1)
        loop = asyncio.get_running_loop()
        budget_ends = None if left is None else loop.time() + left
        ends = 0.0  # set once a slot is held

        async def attempt() -> httpx.Response:
            nonlocal reached
            try:
                verdicts.admit()
            except Exception as refused:
                if not reached:
                    raise  # the open circuit's own error: nothing went out
                # A retry refused after an attempt that may have reached the remote:
                # the call as a whole may still have been applied there.
                retry_after = getattr(refused, "retry_after", 1)
                raise self._unavailable(str(refused), retry_after, maybe_applied=True) from refused
            started = loop.time()
            headers[BUDGET_HEADER] = str(max(0, int((ends - started) * 1000)))
            try:
                if verdicts.probing:
                    # A half-open probe must not hang its caller: no answer soon is a failure.
                    try:
                        async with asyncio.timeout(PROBE_ATTEMPT_SECONDS):
                            response = await send(headers)
                    except TimeoutError:
                        raise httpx.ReadTimeout("the half-open probe got no answer") from None
                else:
                    response = await send(headers)
                if hangs is not None:
                    hangs.progress()
                bulkhead.observe(loop.time() - started)
                if response.status_code >= 500:
                    raise ServerError(response.status_code, response.headers.get("Retry-After"))
            except asyncio.CancelledError:
                reached = True  # cut short mid-request: it may have gone out
                raise  # the deadline handler below knows whether this was the deadline
            except Exception as exc:
                reached = reached or not nothing_sent(exc)
                if isinstance(exc, httpx.TimeoutException) and not nothing_sent(exc):
                    bulkhead.dropped()  # sent, and no answer in time: too many in flight
                verdicts.failed(unhealthy=server_unhealthy(exc))
                raise
            verdicts.answered()
            return response

        async with bulkhead.slot(max_wait=left):
            # The method's deadline, or the caller's remaining budget if that ends first.
            slotted = loop.time()
            ends = slotted + deadline
            if budget_ends is not None:
                ends = min(ends, budget_ends)
            cut_by_hang = _never
            try:
                async with asyncio.timeout_at(ends) as bound:
                    if hangs is None:
                        return await with_retries(method, attempt, retry, self._retries)
                    with hangs.watching(bound) as cut_by_hang:
                        return await with_retries(method, attempt, retry, self._retries)
            except TimeoutError:
                hung = cut_by_hang()
                if hung:
                    verdicts.cancelled()  # the watch already opened the breaker
                else:
                    verdicts.deadline_passed()
                bulkhead.dropped()
                logger.warning(
                    "%s call cut short",
                    name,
                    extra={"method": method, "deadline_seconds": deadline, "hung": hung},
                )
                # The detail names what cut the call: the method's deadline or the budget.
                within = (
                    f"the caller's remaining {max(0.0, ends - slotted):.3f}s"
                    if ends < slotted + deadline
                    else f"{deadline:g}s"
                )
                why = "stopped answering" if hung else f"did not answer within {within}"
                raise self._unavailable(f"{name} {why} ({method})", maybe_applied=reached) from None
            except asyncio.CancelledError:
                verdicts.cancelled()
                raise
            except (*ATTEMPT_FAILURES, ServerError) as exc:
                raise self._failed(method, exc, maybe_applied=reached) from exc

    def _failed(self, method: str, exc: BaseException, *, maybe_applied: bool) -> Exception:
        """The unavailable error for a call whose last attempt failed with ``exc``."""
        if isinstance(exc, ServerError):
            detail = f"{self.name} answered {method} with HTTP {exc.status}"
            retry_after = exc.retry_after
        else:
            detail = f"{self.name} unreachable for {method}: {type(exc).__name__}"
            retry_after = 1
        logger.warning(
            "%s call failed", self.name, extra={"method": method, "error": type(exc).__name__}
        )
        return self._unavailable(detail, retry_after=retry_after, maybe_applied=maybe_applied)


def _never() -> bool:
    return False
