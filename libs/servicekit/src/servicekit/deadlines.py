"""Request budgets that travel: the time a caller still waits, kept per task and sent on.

A caller bounds its work with ``budget(seconds)`` (nested budgets only ever
shorten it); ``remaining()`` says what is left. A service call sends that
remainder in milliseconds (``BUDGET_HEADER``); the receiving service's
``BudgetMiddleware`` refuses a request whose budget is already spent and runs
the rest under ``asyncio.timeout`` of what is left, so no statement outlives
a caller that has gone (ADR 0024). Relative milliseconds, not a timestamp:
the two hosts' clocks never have to agree.
"""

import asyncio
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicekit.problems import problem_response
from shop_contracts.errors import ErrorCode

logger = logging.getLogger(__name__)

BUDGET_HEADER = "X-Request-Budget-Ms"
_BUDGET_HEADER_RAW = BUDGET_HEADER.lower().encode()
_MAX_BUDGET_MS = 600_000

_deadline: ContextVar[float | None] = ContextVar("request_deadline", default=None)


def remaining() -> float | None:
    """Seconds left of this task's budget (may be negative once spent), or None if unbounded."""
    deadline = _deadline.get()
    return None if deadline is None else deadline - time.monotonic()


@contextmanager
def budget(seconds: float | None) -> Iterator[None]:
    """Bound the body by ``seconds`` more (never beyond an enclosing budget; None: no change)."""
    if seconds is None:
        yield
        return
    deadline = time.monotonic() + seconds
    current = _deadline.get()
    token = _deadline.set(deadline if current is None else min(current, deadline))
    try:
        yield
    finally:
        _deadline.reset(token)


@contextmanager
def detached(seconds: float | None = None) -> Iterator[None]:
    """Leave the caller's budget: work that must finish after it gave up (a release by key)."""
    token = _deadline.set(None if seconds is None else time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def parse_budget_ms(value: bytes | str | None) -> int | None:
    """The header's milliseconds (None when absent or not a whole number; capped at 10 min)."""
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if not text.lstrip("-").isdigit():
        return None
    return min(int(text), _MAX_BUDGET_MS)


class BudgetMiddleware:
    """Pure ASGI: a request carrying a spent budget gets a 503 at once; the rest run bounded.

    Requests without the header (public callers) are untouched. The answer to a
    spent or overrun budget is a 503 with ``code`` (products: its usual
    ``products_unavailable``) and ``Retry-After: 1``: nobody waits for it (the caller's own deadline has
    passed too), and a caller that retries sends a fresh budget.
    """

    def __init__(self, app: ASGIApp, code: ErrorCode = ErrorCode.SERVICE_UNAVAILABLE) -> None:
        self.app = app
        self.code = code

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = next((v for k, v in scope["headers"] if k == _BUDGET_HEADER_RAW), None)
        budget_ms = parse_budget_ms(raw)
        if budget_ms is None:
            await self.app(scope, receive, send)
            return
        if budget_ms <= 0:
            await self._refuse(scope, receive, send, "arrived with its budget already spent")
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        seconds = budget_ms / 1000
        bound = asyncio.timeout(seconds)
        try:
            with budget(seconds):
                async with bound:
                    await self.app(scope, receive, tracking_send)
        except TimeoutError:
            if started or not bound.expired():
                raise
            await self._refuse(scope, receive, send, f"ran out of its {budget_ms} ms budget")

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, why: str) -> None:
        logger.info(
            "%s %s %s; answered 503", scope.get("method"), scope["path"], why,
            extra={"budget_exhausted": True},
        )  # fmt: skip
        answer = problem_response(
            503,
            self.code,
            "Budget exhausted",
            f"The request {why}: the caller has stopped waiting; retry with a new budget.",
            instance=scope["path"],
            headers={"Retry-After": "1"},
        )
        await answer(scope, receive, send)
