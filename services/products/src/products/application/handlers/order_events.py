"""Products' reactions to orders' integration events."""

from products.application.commands import ReleaseCancelledOrder
from products.application.handlers.reservations import release_in
from products.application.unit_of_work import UnitOfWork
from servicekit.clock import Clock


async def release_cancelled_order(
    command: ReleaseCancelledOrder, uow: UnitOfWork, clock: Clock
) -> bool:
    """Release the cancelled order's hold and record the event in one transaction.

    A backstop for orders' synchronous release: usually the hold is already
    released and only the inbox row is written. ``False`` for an event this
    consumer already applied.
    """
    async with uow:
        if not await uow.inbox.claim(command.event_id, command.consumer, clock()):
            return False
        await release_in(uow, command.reservation_id, clock)
        await uow.commit()
    return True
