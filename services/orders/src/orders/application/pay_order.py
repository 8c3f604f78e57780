"""PayOrder: charge the customer for a confirmed order."""

from orders.application.commands import PayOrder
from orders.application.ownership import load_owned
from orders.application.unit_of_work import UnitOfWorkFactory
from orders.domain.order import Order
from orders.domain.ports import PaymentPort
from orders.domain.status import OrderStatus
from servicekit.clock import Clock


async def pay_order(
    cmd: PayOrder, uow: UnitOfWorkFactory, payments: PaymentPort, clock: Clock
) -> Order:
    """Charge the caller for their order; ``OrderNotFound`` if it is not theirs."""
    async with uow() as work:
        order = await load_owned(work, cmd.order_id, cmd.user_id)
        order.ensure_can(OrderStatus.PAID)
        # The key is per order: a retry after a lost commit gets the same charge back.
        receipt = await payments.charge(order.id, order.total, f"charge:{order.id}")
        order.mark_paid(receipt.payment_id, clock())
        await work.orders.save(order)
        await work.commit()
    return order
