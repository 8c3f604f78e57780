"""PayOrder: charge the customer for a confirmed order."""

from orders.application.commands import PayOrder
from orders.application.unit_of_work import UnitOfWorkFactory
from orders.domain.errors import OrderNotFound
from orders.domain.order import Order
from orders.domain.ports import PaymentPort
from orders.domain.status import OrderStatus
from servicekit.clock import Clock, utc_now


class PayOrderHandler:
    """Handles ``PayOrder``."""

    def __init__(
        self, *, uow: UnitOfWorkFactory, payments: PaymentPort, clock: Clock = utc_now
    ) -> None:
        self._uow = uow
        self._payments = payments
        self._clock = clock

    async def __call__(self, cmd: PayOrder) -> Order:
        async with self._uow() as uow:
            order = await uow.orders.get_with_items(cmd.order_id, for_update=True)
            if order is None:
                raise OrderNotFound(cmd.order_id)
            order.ensure_can(OrderStatus.PAID)
            # The key is per order: a retry after a lost commit gets the same charge back.
            receipt = await self._payments.charge(order.id, order.total, f"charge:{order.id}")
            order.mark_paid(receipt.payment_id, self._clock())
            await uow.orders.save(order)
            await uow.commit()
        return order
