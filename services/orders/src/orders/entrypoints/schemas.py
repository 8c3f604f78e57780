"""HTTP request bodies (responses are the application's view DTOs)."""

from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from orders.domain.order import OrderLine
from orders.domain.status import OrderStatus
from shop_contracts.reservations import MAX_LINE_QUANTITY, MAX_RESERVATION_LINES


class OrderItemIn(BaseModel):
    """A product and how many units."""

    model_config = ConfigDict(extra="forbid")

    product_id: UUID
    quantity: int = Field(ge=1, le=MAX_LINE_QUANTITY)


class CartIn(BaseModel):
    """The lines of an order or a quote."""

    model_config = ConfigDict(extra="forbid")

    items: list[OrderItemIn] = Field(min_length=1, max_length=MAX_RESERVATION_LINES)

    def lines(self) -> tuple[OrderLine, ...]:
        """As domain order lines."""
        return tuple(OrderLine(item.product_id, item.quantity) for item in self.items)


class CancelOrderIn(BaseModel):
    """Why the order is cancelled."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="", max_length=500)


class StatusUpdateIn(BaseModel):
    """The fulfilment status to move to (shipped, delivered)."""

    model_config = ConfigDict(extra="forbid")

    status: OrderStatus
