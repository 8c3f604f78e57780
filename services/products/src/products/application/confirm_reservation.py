"""ConfirmReservation: held → confirmed; a lapsed hold is expired and refused (ADR 0026)."""

from dataclasses import replace

from products.application.commands import ConfirmReservation
from products.application.holds import HELD, MAX_ROUNDS, expire, load
from products.application.unit_of_work import UnitOfWorkFactory
from products.domain.errors import ReservationExpired, ReservationReleased
from products.domain.reservation import Reservation, ReservationStatus
from servicekit.clock import Clock


async def confirm_reservation(
    command: ConfirmReservation, uow: UnitOfWorkFactory, clock: Clock
) -> Reservation:
    """Held → confirmed (idempotent); a lapsed hold is expired on the spot and refused."""
    async with uow() as work:
        # The common case, a live hold, is one conditional update (one round trip on
        # PostgreSQL, ADR 0022); anything else is decided on the state as read.
        confirmed = await work.reservations.confirm_if_held(command.reservation_id, clock())
        if confirmed is not None:
            await work.commit()
            return confirmed
        # Every status change is conditional; when another process wins the race
        # we re-read and decide again on the state it left.
        for _ in range(MAX_ROUNDS):
            reservation = await load(work, command.reservation_id)
            now = clock()
            if reservation.status is ReservationStatus.CONFIRMED:
                return reservation
            if reservation.status is ReservationStatus.RELEASED:
                raise ReservationReleased(reservation.id)
            if reservation.status is ReservationStatus.EXPIRED:
                raise ReservationExpired(reservation.id)
            if reservation.is_lapsed(now):
                if await expire(work, reservation, now):
                    await work.commit()
                    raise ReservationExpired(reservation.id)
            elif await work.reservations.change_status(
                reservation.id, HELD, ReservationStatus.CONFIRMED, now, lapsed=False
            ):
                await work.commit()
                return replace(reservation, status=ReservationStatus.CONFIRMED)
    raise RuntimeError(f"reservation {command.reservation_id} kept changing during confirm")
