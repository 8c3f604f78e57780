"""Read-side queries and the port that answers them from a (possibly replica) database."""

from dataclasses import dataclass
from datetime import date
from typing import Protocol
from uuid import UUID

from orders.application.views import OrderListItem, OrderSummaryView, OrderView
from orders.domain.status import OrderStatus
from shop_contracts.pagination import CursorPage, Keyset


@dataclass(frozen=True, slots=True)
class GetOrder:
    """One order with items."""

    order_id: UUID


@dataclass(frozen=True, slots=True)
class ListUserOrders:
    """A page of a user's orders, newest first (by ``created_at``, then ``id``).

    By page number (``page``, ``OFFSET``, an exact total), or by cursor
    (``cursor_mode``): the orders after ``after`` (from the newest when None),
    the total counted only up to ``CURSOR_TOTAL_LIMIT`` (ADR 0023).
    """

    user_id: str
    page: int = 1
    page_size: int = 20
    status: OrderStatus | None = None
    cursor_mode: bool = False
    after: Keyset | None = None


@dataclass(frozen=True, slots=True)
class GetOrderSummary:
    """Count, sum and average of a user's orders, both date bounds inclusive (UTC days).

    Amounts are never added across currencies: ``currency`` picks one, and
    without it orders in more than one currency are refused (``MixedCurrencies``).
    """

    user_id: str
    start_date: date | None = None
    end_date: date | None = None
    currency: str | None = None


class OrderQueries(Protocol):
    """Query handlers; they return views, never aggregates."""

    async def get_order(self, query: GetOrder) -> OrderView | None:
        """The order, or None."""
        ...

    async def list_user_orders(self, query: ListUserOrders) -> CursorPage[OrderListItem]:
        """One page, the total (bounded in cursor mode) and the next page's cursor."""
        ...

    async def order_summary(self, query: GetOrderSummary) -> OrderSummaryView:
        """Aggregates computed by the database."""
        ...
