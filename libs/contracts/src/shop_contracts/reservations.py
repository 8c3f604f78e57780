"""Stock reservation DTOs (try / confirm / cancel) and the one (product, quantity) line (ADR 0026)."""

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Protocol
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shop_contracts.limits import MAX_KEY_LENGTH, MAX_LINE_QUANTITY, MAX_RESERVATION_LINES
from shop_contracts.money import CurrencyCode, MoneyAmount
from shop_contracts.numbers import WireInt
from shop_contracts.text import NO_NUL


class LineLike(Protocol):
    """Anything naming a product and a quantity (a wire line, an order line, a hold line)."""

    @property
    def product_id(self) -> UUID: ...

    @property
    def quantity(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Line:
    """A product and a quantity: a cart line in orders, a line to hold in products."""

    product_id: UUID
    quantity: int


def merged_quantities(lines: Iterable[LineLike]) -> list[tuple[UUID, int]]:
    """Quantity per product with repeats merged, ordered by product id.

    Equal carts compare (and hash) equal, and every transaction takes its
    product row locks in the same order, which keeps concurrent multi-line
    reservations free of deadlocks.
    """
    totals: dict[UUID, int] = {}
    for line in lines:
        totals[line.product_id] = totals.get(line.product_id, 0) + line.quantity
    return sorted(totals.items())


def merged_lines(lines: Iterable[LineLike]) -> tuple[Line, ...]:
    """The lines with repeats merged, ordered by product id, so equal requests compare equal."""
    return tuple(Line(pid, qty) for pid, qty in merged_quantities(lines))


def lines_fingerprint(lines: Iterable[LineLike]) -> str:
    """A hash of the merged lines: equal for requests that mean the same thing.

    Stored next to an idempotency key, so a replay with other lines is told apart.
    """
    canonical = [[str(pid), quantity] for pid, quantity in merged_quantities(lines)]
    return hashlib.sha256(json.dumps(canonical).encode()).hexdigest()


class ReservationStatus(StrEnum):
    """Lifecycle of a hold: held → confirmed | released | expired; confirmed → released."""

    HELD = "held"
    CONFIRMED = "confirmed"
    RELEASED = "released"
    EXPIRED = "expired"


class ReservationLineRequest(BaseModel):
    """One product and how many units to hold."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    product_id: UUID
    quantity: WireInt = Field(ge=1, le=MAX_LINE_QUANTITY)


ReservationKey = Annotated[str, Field(min_length=1, max_length=MAX_KEY_LENGTH, pattern=NO_NUL)]
"""The caller's idempotency key of a hold."""


class ReservationRequest(BaseModel):
    """Hold stock for all lines or none. The key makes the call idempotent."""

    model_config = ConfigDict(extra="forbid")

    reservation_key: ReservationKey
    lines: list[ReservationLineRequest] = Field(min_length=1, max_length=MAX_RESERVATION_LINES)


class ReservationKeyRelease(BaseModel):
    """Release whatever is held under a key, and retire the key (idempotent)."""

    model_config = ConfigDict(extra="forbid")

    reservation_key: ReservationKey


class ReservationLine(BaseModel):
    """A held line with the product name and unit price at the time of the hold."""

    model_config = ConfigDict(frozen=True)

    product_id: UUID
    quantity: int = Field(ge=1, le=MAX_LINE_QUANTITY)
    product_name: str
    unit_price: MoneyAmount
    currency: CurrencyCode


class Reservation(BaseModel):
    """A stock hold and its state."""

    model_config = ConfigDict(frozen=True)

    id: UUID
    key: str
    status: ReservationStatus
    expires_at: datetime
    created_at: datetime
    lines: list[ReservationLine]
