"""Canary-fallback helpers of the seam's own tests: a fallback over a ``FlagBook``."""

import asyncio
import time
from collections.abc import Awaitable, Callable

from libs.seam.tests.flagbook import Clock, FlagBook, Flags
from libs.seam.tests.inventory import FAILED, FLAGS, METRICS, QueueFull, outcome_of
from seam import Fallback, Mode, Thresholds

LIMITS = Thresholds(window_seconds=60, min_calls=10, max_error_rate=0.2, max_p95_seconds=1.0)
FALLBACK_LOGGER = "seam.fallback"
TRIPS = "seamtest_canary_fallback_trips_total"
ACTIVE = "seamtest_canary_fallback_active"


async def no_sleep(_: float) -> None:
    """The retry's wait, over at once."""
    await asyncio.sleep(0)


def blocked_sleep() -> tuple[Callable[[float], Awaitable[None]], asyncio.Event]:
    """A retry wait that lasts until the event is set."""
    wake = asyncio.Event()

    async def sleep(_: float) -> None:
        await wake.wait()
        wake.clear()

    return sleep, wake


def fallback_over(
    book: FlagBook,
    *,
    sleep: Callable[[float], Awaitable[None]] = no_sleep,
    timer: Callable[[], float] = time.perf_counter,
    final_attempt_seconds: float = 5.0,
) -> Fallback:
    """A fallback that reads and writes ``book``'s flags."""
    return Fallback(
        book.seen,
        book.close,
        LIMITS,
        METRICS,
        flags=FLAGS,
        outcome=outcome_of,
        failed=FAILED,
        not_judged=(QueueFull,),
        clock=book.clock,
        sleep=sleep,
        final_attempt_seconds=final_attempt_seconds,
        timer=timer,
    )


def setup(
    mode: Mode = Mode.CANARY, share: int = 50, failures: int = 0
) -> tuple[Fallback, FlagBook, Clock]:
    """A fallback, its flags (``mode`` at ``share``) and their clock."""
    clock = Clock()
    book = FlagBook(clock, Flags(mode, share), failures)
    return fallback_over(book), book, clock


def holding(fallback: Fallback) -> bool:
    """A call, not the property: mypy would narrow the property across the steps."""
    return fallback.holding


def record(fallback: Fallback, *outcomes: str, seconds: float = 0.01) -> None:
    """Routed remote calls that ended with ``outcomes``."""
    for outcome in outcomes:
        fallback.record(seconds, outcome)
