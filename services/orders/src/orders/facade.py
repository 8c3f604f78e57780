"""The in-process API of orders: every command and query with its collaborators bound (ADR 0026)."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from orders.application.availability import check_availability
from orders.application.cancel_order import cancel_order
from orders.application.commands import CancelOrder, PayOrder, PlaceOrder, UpdateOrderStatus
from orders.application.pay_order import pay_order
from orders.application.place_order import AfterReserveHook, PlacedOrder, place_order
from orders.application.queries import GetOrder, GetOrderSummary, ListUserOrders, OrderQueries
from orders.application.quote import quote_cart
from orders.application.reconciler import ReconcileReport, reconcile_pending
from orders.application.unit_of_work import UnitOfWorkFactory
from orders.application.update_status import update_status
from orders.application.views import (
    AvailabilityView,
    OrderListItem,
    OrderSummaryView,
    OrderView,
    QuoteView,
)
from orders.domain.order import Order
from orders.domain.ports import PaymentPort
from orders.domain.product_client import ProductServiceClient
from servicekit.clock import Clock
from servicekit.deadlines import budget
from shop_contracts.pagination import CursorPage
from shop_contracts.reservations import Line


@dataclass(frozen=True, slots=True, kw_only=True)
class OrdersFacade:
    """Orders' use cases over one set of collaborators."""

    uow: UnitOfWorkFactory
    autocommit_uow: UnitOfWorkFactory
    """Autocommit on the primary: single reads that need no transaction."""
    queries: OrderQueries
    products: ProductServiceClient
    payments: PaymentPort
    clock: Clock
    max_items_per_order: int
    reconcile_grace: timedelta
    placement_budget_seconds: float | None = None
    """The most a placement waits for products in all (``servicekit.deadlines``)."""
    after_reserve: AfterReserveHook | None = None

    async def place_order(self, cmd: PlaceOrder) -> PlacedOrder:
        """Reserve stock and place the order (idempotent per user and key)."""
        with budget(self.placement_budget_seconds):
            return await place_order(
                cmd,
                self.uow,
                self.autocommit_uow,
                self.products,
                self.clock,
                max_items=self.max_items_per_order,
                after_reserve=self.after_reserve,
            )

    async def cancel_order(self, cmd: CancelOrder) -> Order:
        """Cancel the user's order, releasing its stock and refunding a payment."""
        return await cancel_order(cmd, self.uow, self.products, self.payments, self.clock)

    async def pay_order(self, cmd: PayOrder) -> Order:
        """Charge the user for their confirmed order."""
        return await pay_order(cmd, self.uow, self.payments, self.clock)

    async def update_status(self, cmd: UpdateOrderStatus) -> Order:
        """Move an order through fulfilment (staff)."""
        return await update_status(cmd, self.uow, self.clock)

    async def quote(self, lines: Sequence[Line]) -> QuoteView:
        """Price a cart at current prices; nothing is held."""
        return await quote_cart(self.products, lines, max_items=self.max_items_per_order)

    async def availability(self, product_id: UUID, quantity: int) -> AvailabilityView:
        """A product's current price and whether ``quantity`` units can be bought now."""
        return await check_availability(product_id, quantity, self.products)

    async def reconcile(self) -> ReconcileReport:
        """Settle orders left pending by an outage or a crash."""
        return await reconcile_pending(
            self.uow, self.products, self.clock, grace=self.reconcile_grace
        )

    async def get_order(self, query: GetOrder) -> OrderView | None:
        """One order with its items, from the read side."""
        return await self.queries.get_order(query)

    async def list_orders(self, query: ListUserOrders) -> CursorPage[OrderListItem]:
        """A page of the user's orders, newest first."""
        return await self.queries.list_user_orders(query)

    async def order_summary(self, query: GetOrderSummary) -> OrderSummaryView:
        """Count, total and average of the user's orders."""
        return await self.queries.order_summary(query)
