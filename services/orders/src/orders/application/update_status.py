"""UpdateOrderStatus: staff move an order through fulfilment."""

from orders.application.commands import UpdateOrderStatus
from orders.application.unit_of_work import UnitOfWorkFactory
from orders.domain.errors import InvalidStatusTransition, OrderNotFound
from orders.domain.order import Order
from orders.domain.status import FULFILMENT_STATUSES
from servicekit.clock import Clock, utc_now


class UpdateOrderStatusHandler:
    """Handles ``UpdateOrderStatus``."""

    def __init__(self, *, uow: UnitOfWorkFactory, clock: Clock = utc_now) -> None:
        self._uow = uow
        self._clock = clock

    async def __call__(self, cmd: UpdateOrderStatus) -> Order:
        async with self._uow() as uow:
            order = await uow.orders.get_with_items(cmd.order_id, for_update=True)
            if order is None:
                raise OrderNotFound(cmd.order_id)
            # Paying, cancelling and confirming have side effects and their own commands.
            if cmd.status not in FULFILMENT_STATUSES:
                raise InvalidStatusTransition(order.status, cmd.status)
            order.advance(cmd.status, self._clock())
            await uow.orders.save(order)
            await uow.commit()
        return order
