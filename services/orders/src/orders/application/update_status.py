"""UpdateOrderStatus: staff move an order through fulfilment."""

from orders.application.commands import UpdateOrderStatus
from orders.application.unit_of_work import UnitOfWorkFactory
from orders.domain.errors import InvalidStatusTransition, OrderNotFound
from orders.domain.order import Order
from orders.domain.status import FULFILMENT_STATUSES
from servicekit.clock import Clock


async def update_status(cmd: UpdateOrderStatus, uow: UnitOfWorkFactory, clock: Clock) -> Order:
    """Move any order to a fulfilment status (the caller is staff)."""
    async with uow() as work:
        order = await work.orders.get_with_items(cmd.order_id, for_update=True)
        if order is None:
            raise OrderNotFound(cmd.order_id)
        # Paying, cancelling and confirming have side effects and their own commands.
        if cmd.status not in FULFILMENT_STATUSES:
            raise InvalidStatusTransition(order.status, cmd.status)
        order.advance(cmd.status, clock())
        await work.orders.save(order)
        await work.commit()
    return order
