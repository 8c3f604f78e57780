"""Calls to a remote side protected: breaker, bulkhead, adaptive limit, hang watch (ADR 0024)."""

from seam.protect.breaker import BreakerState, CallVerdicts, CircuitBreaker
from seam.protect.bulkhead import Bulkhead
from seam.protect.hang import HangWatch
from seam.protect.limiter import AdaptiveLimit

__all__ = [
    "AdaptiveLimit",
    "BreakerState",
    "Bulkhead",
    "CallVerdicts",
    "CircuitBreaker",
    "HangWatch",
]
