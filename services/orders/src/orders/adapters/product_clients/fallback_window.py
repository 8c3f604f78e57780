"""What the canary fallback judges: its thresholds and the http path's window statistics.

A call failed when its outcome (``metrics.outcome_of``) is one of
``FAILED_OUTCOMES``; the window keeps at most ``MAX_SAMPLES`` calls.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

from orders.config import Settings
from shop_contracts.errors import ErrorCode

__all__ = ["FAILED_OUTCOMES", "MAX_SAMPLES", "FallbackThresholds", "WindowStats", "p95"]

FAILED_OUTCOMES = frozenset({ErrorCode.PRODUCTS_UNAVAILABLE.value, "error"})
MAX_SAMPLES = 10_000
"""The window keeps at most this many calls (the newest): bounded memory at any rate."""


@dataclass(frozen=True, slots=True)
class FallbackThresholds:
    """When the http path counts as broken (``APP_CANARY_FALLBACK_*``)."""

    window_seconds: float
    min_calls: int
    max_error_rate: float
    max_p95_seconds: float

    @classmethod
    def from_settings(cls, settings: Settings) -> "FallbackThresholds":
        """The thresholds the settings give."""
        return cls(
            window_seconds=settings.canary_fallback_window_seconds,
            min_calls=settings.canary_fallback_min_calls,
            max_error_rate=settings.canary_fallback_max_error_rate,
            max_p95_seconds=settings.canary_fallback_max_p95_seconds,
        )


@dataclass(frozen=True, slots=True)
class WindowStats:
    """The http path's calls in the window."""

    calls: int
    failures: int
    p95_seconds: float

    @property
    def error_rate(self) -> float:
        """Failures / calls (0 without calls)."""
        return self.failures / self.calls if self.calls else 0.0


def p95(seconds: Sequence[float]) -> float:
    """Nearest-rank 95th percentile (0 without samples)."""
    if not seconds:
        return 0.0
    ordered = sorted(seconds)
    return ordered[math.ceil(0.95 * len(ordered)) - 1]
