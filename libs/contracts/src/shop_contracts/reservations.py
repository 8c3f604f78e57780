"""Stock reservation DTOs (try / confirm / cancel)."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shop_contracts.money import CurrencyCode, MoneyAmount
from shop_contracts.numbers import WireInt
from shop_contracts.text import NO_NUL

MAX_RESERVATION_LINES = 50
MAX_LINE_QUANTITY = 10_000


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


ReservationKey = Annotated[str, Field(min_length=1, max_length=200, pattern=NO_NUL)]
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
    quantity: int = Field(ge=1)
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
