"""ReleaseReservation: held or confirmed → released, stock returned (ADR 0026)."""

from dataclasses import replace
from uuid import UUID

from products.application.commands import ReleaseReservation
from products.application.holds import MAX_ROUNDS, RELEASABLE, load, put_back
from products.application.unit_of_work import UnitOfWork, UnitOfWorkFactory
from products.domain.reservation import Reservation, ReservationStatus
from servicekit.clock import Clock


async def release_reservation(
    command: ReleaseReservation, uow: UnitOfWorkFactory, clock: Clock
) -> Reservation:
    """Held or confirmed → released with stock returned; otherwise unchanged (idempotent)."""
    async with uow() as work:
        reservation, released = await release_in(work, command.reservation_id, clock)
        if released:
            await work.commit()
    return reservation


async def release_in(
    work: UnitOfWork, reservation_id: UUID, clock: Clock
) -> tuple[Reservation, bool]:
    """Release inside the caller's open unit of work (it commits); whether this call did."""
    for _ in range(MAX_ROUNDS):
        reservation = await load(work, reservation_id)
        if not reservation.holds_stock:
            return reservation, False
        if await work.reservations.change_status(
            reservation.id, RELEASABLE, ReservationStatus.RELEASED, clock()
        ):
            await put_back(work, reservation)
            return replace(reservation, status=ReservationStatus.RELEASED), True
    raise RuntimeError(f"reservation {reservation_id} kept changing during release")
