"""What the canary fallback judges: its thresholds and a sliding window of the remote path's calls."""

import math
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

MAX_SAMPLES = 10_000
"""The window keeps at most this many calls (the newest): bounded memory at any rate."""


@dataclass(frozen=True, slots=True)
class Thresholds:
    """When the remote path counts as broken."""

    window_seconds: float
    min_calls: int
    max_error_rate: float
    max_p95_seconds: float


@dataclass(frozen=True, slots=True)
class WindowStats:
    """The remote path's calls in the window."""

    calls: int
    failures: int
    p95_seconds: float

    @property
    def error_rate(self) -> float:
        """Failures / calls (0 without calls)."""
        return self.failures / self.calls if self.calls else 0.0


def p95(seconds: list[float]) -> float:
    """Nearest-rank 95th percentile (0 without samples)."""
    if not seconds:
        return 0.0
    ordered = sorted(seconds)
    return ordered[math.ceil(0.95 * len(ordered)) - 1]


@dataclass(frozen=True, slots=True)
class _Call:
    at: datetime
    seconds: float
    failed: bool


class Window:
    """The calls of the last ``window_seconds``, with running failure and slow counts."""

    def __init__(self, thresholds: Thresholds) -> None:
        self.thresholds = thresholds
        self._calls: deque[_Call] = deque()
        self._failures = 0
        # Calls slower than max_p95_seconds: p95 > max iff they are more than 5 %.
        self._slow = 0

    def add(self, at: datetime, seconds: float, failed: bool) -> bool:
        """Record one call; whether the window now breaches the thresholds."""
        self._calls.append(_Call(at, seconds, failed))
        self._failures += failed
        self._slow += seconds > self.thresholds.max_p95_seconds
        if len(self._calls) > MAX_SAMPLES:
            self._drop(self._calls.popleft())
        self.expire(at)
        limits = self.thresholds
        calls = len(self._calls)
        if calls < limits.min_calls:
            return False
        # Nearest-rank p95 is above the limit iff the calls above it number at least
        # calls - ceil(0.95 * calls) + 1: checked in O(1) on every call.
        slow_limit = calls - math.ceil(0.95 * calls) + 1
        return self._failures / calls > limits.max_error_rate or self._slow >= slow_limit

    def expire(self, now: datetime) -> None:
        """Drop the calls older than the window."""
        horizon = now - timedelta(seconds=self.thresholds.window_seconds)
        while self._calls and self._calls[0].at <= horizon:
            self._drop(self._calls.popleft())

    def stats(self) -> WindowStats:
        """The window's figures now."""
        return WindowStats(len(self._calls), self._failures, p95([c.seconds for c in self._calls]))

    def clear(self) -> None:
        """Start empty (after a trip)."""
        self._calls.clear()
        self._failures = self._slow = 0

    def _drop(self, call: _Call) -> None:
        self._failures -= call.failed
        self._slow -= call.seconds > self.thresholds.max_p95_seconds
