"""ExpireLapsed: the sweeper's step, lapsed holds expired and their stock returned (ADR 0026)."""

from products.application.holds import expire
from products.application.unit_of_work import UnitOfWorkFactory
from servicekit.clock import Clock


async def expire_lapsed(uow: UnitOfWorkFactory, clock: Clock, batch_size: int) -> int:
    """Expire up to ``batch_size`` lapsed holds, one transaction each; how many this call expired.

    One reservation per transaction keeps lock sets tiny, so two sweepers (or a
    sweeper and a confirm) never deadlock; the conditional status change makes
    sure only one of them returns the stock.
    """
    async with uow() as work:
        candidates = await work.reservations.lapsed_ids(clock(), batch_size)
    expired = 0
    for reservation_id in candidates:
        async with uow() as work:
            reservation = await work.reservations.get(reservation_id)
            now = clock()
            if reservation is None or not reservation.is_lapsed(now):
                continue  # confirmed, released or expired by someone else meanwhile
            if await expire(work, reservation, now):
                await work.commit()
                expired += 1
    return expired
