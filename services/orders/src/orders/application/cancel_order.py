"""CancelOrder: release the stock, refund if paid, record OrderCancelled."""

from orders.application.commands import CancelOrder
from orders.application.ownership import load_owned
from orders.application.unit_of_work import UnitOfWorkFactory
from orders.domain.order import Order
from orders.domain.ports import PaymentPort
from orders.domain.product_client import ProductServiceClient
from orders.domain.status import OrderStatus
from servicekit.clock import Clock


async def cancel_order(
    cmd: CancelOrder,
    uow: UnitOfWorkFactory,
    products: ProductServiceClient,
    payments: PaymentPort,
    clock: Clock,
) -> Order:
    """Cancel the caller's order; ``OrderNotFound`` if it is not theirs."""
    async with uow() as work:
        # Locked while releasing so the reconciler cannot confirm it meanwhile.
        order = await load_owned(work, cmd.order_id, cmd.user_id)
        order.ensure_can(OrderStatus.CANCELLED)
        # Both calls are idempotent, so a retry after a failed commit is safe.
        await products.release(order.reservation_id)
        refunded = order.payment_id is not None
        if order.payment_id is not None:
            await payments.refund(order.payment_id, order.total, f"refund:{order.id}")
        order.cancel(cmd.reason, clock(), refunded=refunded)
        await work.orders.save(order)
        await work.commit()
    return order
