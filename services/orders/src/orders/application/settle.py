"""Record the outcome of confirming a pending order's reservation."""

from uuid import UUID

from orders.application.unit_of_work import UnitOfWorkFactory
from orders.domain.errors import OrderNotFound
from orders.domain.order import Order
from orders.domain.status import OrderStatus
from servicekit.clock import Clock


async def settle_pending(
    uow_factory: UnitOfWorkFactory, order_id: UUID, *, confirmed: bool, clock: Clock
) -> Order:
    """Confirm or fail the order if it is still pending; return its current state.

    The row is locked, so a concurrent cancel or a second reconciler sees the
    settled status instead of overwriting it.
    """
    async with uow_factory() as uow:
        order = await uow.orders.get_with_items(order_id, for_update=True)
        if order is None:
            raise OrderNotFound(order_id)
        if order.status is OrderStatus.PENDING:
            if confirmed:
                order.confirm(clock())
            else:
                order.fail(clock())
            await uow.orders.save(order)
            await uow.commit()
        return order
