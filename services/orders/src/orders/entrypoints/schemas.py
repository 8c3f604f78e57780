"""HTTP request bodies (responses are the application's view DTOs)."""

import re
from datetime import date
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from orders.domain.status import OrderStatus
from shop_contracts.limits import MAX_LINE_QUANTITY, MAX_REASON_LENGTH, MAX_RESERVATION_LINES
from shop_contracts.numbers import WireInt
from shop_contracts.reservations import Line
from shop_contracts.text import NO_NUL

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _iso_date_only(value: Any) -> Any:
    # pydantic would read "0" or "1700000000" as a Unix timestamp; the schema says date.
    if isinstance(value, str) and not _ISO_DATE.fullmatch(value):
        raise ValueError("must be a date as YYYY-MM-DD")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date_only)]
"""A calendar date written as ``YYYY-MM-DD`` (the OpenAPI ``format: date``)."""


class OrderItemIn(BaseModel):
    """A product and how many units."""

    model_config = ConfigDict(extra="forbid")

    product_id: UUID
    quantity: WireInt = Field(ge=1, le=MAX_LINE_QUANTITY)


class CartIn(BaseModel):
    """The lines of an order or a quote."""

    model_config = ConfigDict(extra="forbid")

    items: list[OrderItemIn] = Field(min_length=1, max_length=MAX_RESERVATION_LINES)

    def lines(self) -> tuple[Line, ...]:
        """As domain lines."""
        return tuple(Line(item.product_id, item.quantity) for item in self.items)


class CancelOrderIn(BaseModel):
    """Why the order is cancelled."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="", max_length=MAX_REASON_LENGTH, pattern=NO_NUL)


class StatusUpdateIn(BaseModel):
    """The fulfilment status to move to (shipped, delivered)."""

    model_config = ConfigDict(extra="forbid")

    status: OrderStatus
