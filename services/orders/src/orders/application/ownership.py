"""A user's commands reach only that user's orders, checked on the primary."""

from uuid import UUID

from orders.application.unit_of_work import UnitOfWork
from orders.domain.errors import OrderNotFound
from orders.domain.order import Order


async def load_owned(uow: UnitOfWork, order_id: UUID, user_id: str) -> Order:
    """The order locked for update if ``user_id`` owns it; ``OrderNotFound`` otherwise.

    Someone else's order answers exactly like a missing one, so ids are not disclosed.
    """
    order = await uow.orders.get_with_items(order_id, for_update=True)
    if order is None or order.user_id != user_id:
        raise OrderNotFound(order_id)
    return order
