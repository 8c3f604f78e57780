"""Calls to a remote side protected: breaker, bulkhead, adaptive limit, hang watch (ADR 0024)."""

from servicekit.http_client.protect.breaker import BreakerState, CallVerdicts, CircuitBreaker
from servicekit.http_client.protect.bulkhead import Bulkhead
from servicekit.http_client.protect.hang import HangWatch
from servicekit.http_client.protect.limiter import AdaptiveLimit
from servicekit.http_client.protect.metrics import ProtectionMetrics

__all__ = [
    "AdaptiveLimit",
    "BreakerState",
    "Bulkhead",
    "CallVerdicts",
    "CircuitBreaker",
    "HangWatch",
    "ProtectionMetrics",
]
