"""When a remote call's own work starts: queueing in this process is never judged (ADR 0025)."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar


class _Timer:
    __slots__ = ("clock", "start")

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.start = clock()


_timer: ContextVar[_Timer | None] = ContextVar("seam_call_timer", default=None)


def work_started() -> None:
    """A remote implementation's call stops queueing here: the fallback judges it from now."""
    timer = _timer.get()
    if timer is not None:
        timer.start = timer.clock()


@contextmanager
def timing(clock: Callable[[], float]) -> Iterator[_Timer]:
    """Time the calls made in this block (this task) on ``clock``; ``work_started`` restarts it."""
    timer = _Timer(clock)
    token = _timer.set(timer)
    try:
        yield timer
    finally:
        _timer.reset(token)
