"""Stock reservations: a hold on stock that is later confirmed, released or lapses (ADR 0026)."""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from shop_contracts.money import Money
from shop_contracts.reservations import (
    Line,
    ReservationStatus,
    lines_fingerprint,
    merged_lines,
)

__all__ = [
    "HoldRequest",
    "Line",
    "Reservation",
    "ReservationLine",
    "ReservationStatus",
    "merged_lines",
    "request_fingerprint",
]

# Statuses whose stock is still taken out of the available count.
_STOCK_HOLDING = frozenset({ReservationStatus.HELD, ReservationStatus.CONFIRMED})


@dataclass(frozen=True, slots=True)
class ReservationLine:
    """A held line with the product name and unit price as they were at hold time."""

    product_id: UUID
    quantity: int
    product_name: str
    unit_price: Money


@dataclass(frozen=True, slots=True)
class Reservation:
    """A hold on stock for several products, identified by the caller's key."""

    id: UUID
    key: str
    request_hash: str
    status: ReservationStatus
    expires_at: datetime
    created_at: datetime
    lines: tuple[ReservationLine, ...]

    def is_lapsed(self, now: datetime) -> bool:
        """Held past its expiry: it may no longer be confirmed."""
        return self.status is ReservationStatus.HELD and self.expires_at <= now

    @property
    def retires_key(self) -> bool:
        """A key released before any hold was made under it: later holds are refused."""
        return self.status is ReservationStatus.RELEASED and not self.lines

    @property
    def holds_stock(self) -> bool:
        """Whether releasing it would give stock back."""
        return self.status in _STOCK_HOLDING


@dataclass(frozen=True, slots=True)
class HoldRequest:
    """A hold to make: its identity and timing, and merged lines not yet priced."""

    id: UUID
    key: str
    request_hash: str
    lines: tuple[Line, ...]
    created_at: datetime
    expires_at: datetime


request_fingerprint = lines_fingerprint
"""A hash of the normalised lines: equal for requests that mean the same hold."""
