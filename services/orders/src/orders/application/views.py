"""Read-side view DTOs (what the API returns) and the mapping from the aggregate."""

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from orders.domain.order import Order
from orders.domain.status import OrderStatus
from shop_contracts.limits import MAX_LINE_QUANTITY
from shop_contracts.money import CurrencyCode, MoneyAmount, StoredAmount, SumAmount


class OrderItemView(BaseModel):
    """One line of an order."""

    model_config = ConfigDict(frozen=True)

    product_id: UUID
    product_name: str
    quantity: int = Field(ge=1)
    unit_price: StoredAmount
    line_total: StoredAmount


class OrderView(BaseModel):
    """An order with its items."""

    model_config = ConfigDict(frozen=True)

    id: UUID
    user_id: str
    status: OrderStatus
    currency: CurrencyCode
    total: StoredAmount
    items: list[OrderItemView]
    payment_id: str | None = None
    cancel_reason: str | None = None
    created_at: datetime
    updated_at: datetime


class OrderListItem(BaseModel):
    """An order in a list (no items)."""

    model_config = ConfigDict(frozen=True)

    id: UUID
    status: OrderStatus
    currency: CurrencyCode
    total: StoredAmount
    item_count: int
    created_at: datetime


class OrderSummaryView(BaseModel):
    """Totals over a user's orders in one currency (cancelled and failed orders excluded)."""

    total_orders: int = Field(ge=0)
    total_spent: SumAmount
    avg_order_value: SumAmount
    currency: CurrencyCode | None = Field(
        default=None,
        description="The currency of both amounts; null when there is no order to count",
    )


class QuoteLineView(BaseModel):
    """A priced cart line; ``in_stock`` is a hint, nothing is held."""

    product_id: UUID
    product_name: str
    quantity: int = Field(ge=1, le=MAX_LINE_QUANTITY)
    unit_price: MoneyAmount
    line_total: MoneyAmount
    in_stock: bool


class AvailabilityView(BaseModel):
    """A product's current price and whether a quantity of it can be bought now."""

    product_id: UUID
    product_name: str
    unit_price: MoneyAmount
    currency: CurrencyCode
    quantity: int
    available: bool


class QuoteView(BaseModel):
    """A priced cart."""

    items: list[QuoteLineView]
    subtotal: MoneyAmount
    currency: CurrencyCode


def order_view(order: Order) -> OrderView:
    """The view of an aggregate the write side just changed."""
    return OrderView(
        id=order.id,
        user_id=order.user_id,
        status=order.status,
        currency=order.currency,
        total=order.total.amount,
        items=[
            OrderItemView(
                product_id=item.product_id,
                product_name=item.product_name,
                quantity=item.quantity,
                unit_price=item.unit_price.amount,
                line_total=item.line_total.amount,
            )
            for item in order.items
        ],
        payment_id=order.payment_id,
        cancel_reason=order.cancel_reason,
        created_at=order.created_at,
        updated_at=order.updated_at,
    )
