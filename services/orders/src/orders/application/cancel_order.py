"""CancelOrder: release the stock, refund if paid, record OrderCancelled."""

from orders.application.commands import CancelOrder
from orders.application.unit_of_work import UnitOfWorkFactory
from orders.domain.errors import OrderNotFound
from orders.domain.order import Order
from orders.domain.ports import PaymentPort
from orders.domain.product_client import ProductServiceClient
from orders.domain.status import OrderStatus
from servicekit.clock import Clock, utc_now


class CancelOrderHandler:
    """Handles ``CancelOrder``."""

    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        products: ProductServiceClient,
        payments: PaymentPort,
        clock: Clock = utc_now,
    ) -> None:
        self._uow = uow
        self._products = products
        self._payments = payments
        self._clock = clock

    async def __call__(self, cmd: CancelOrder) -> Order:
        async with self._uow() as uow:
            # Locked while releasing so the reconciler cannot confirm it meanwhile.
            order = await uow.orders.get_with_items(cmd.order_id, for_update=True)
            if order is None:
                raise OrderNotFound(cmd.order_id)
            order.ensure_can(OrderStatus.CANCELLED)
            # Both calls are idempotent, so a retry after a failed commit is safe.
            await self._products.release(order.reservation_id)
            refunded = order.payment_id is not None
            if order.payment_id is not None:
                await self._payments.refund(order.payment_id, order.total, f"refund:{order.id}")
            order.cancel(cmd.reason, self._clock(), refunded=refunded)
            await uow.orders.save(order)
            await uow.commit()
        return order
