"""ReleaseCancelledOrder: orders' OrderCancelled event, applied once (ADR 0026)."""

from products.application.commands import ReleaseCancelledOrder
from products.application.release_reservation import release_in
from products.application.unit_of_work import UnitOfWorkFactory
from servicekit.clock import Clock


async def release_cancelled_order(
    command: ReleaseCancelledOrder, uow: UnitOfWorkFactory, clock: Clock
) -> bool:
    """Release the cancelled order's hold and record the event in one transaction.

    A backstop for orders' synchronous release: usually the hold is already
    released and only the inbox row is written. ``False`` for an event this
    consumer already applied.
    """
    async with uow() as work:
        if not await work.inbox.claim(command.event_id, command.consumer, clock()):
            return False
        await release_in(work, command.reservation_id, clock)
        await work.commit()
    return True
