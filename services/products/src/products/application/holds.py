"""What every reservation handler does the same way: load, put back, expire (ADR 0026)."""

from datetime import datetime
from uuid import UUID

from products.application.unit_of_work import UnitOfWork
from products.domain.errors import ReservationNotFound
from products.domain.reservation import Reservation, ReservationStatus
from shop_contracts.limits import MAX_KEY_LENGTH

HELD = frozenset({ReservationStatus.HELD})
RELEASABLE = frozenset({ReservationStatus.HELD, ReservationStatus.CONFIRMED})
# Statuses only move forward (held → terminal, confirmed → released), so a lost
# race settles within two rounds; the bound turns a logic error into an error, not a hang.
MAX_ROUNDS = 4


def check_key(key: str) -> None:
    """``ValueError`` for a reservation key of the wrong length."""
    if not 1 <= len(key) <= MAX_KEY_LENGTH:
        raise ValueError(f"a reservation key has 1 to {MAX_KEY_LENGTH} characters")


async def load(work: UnitOfWork, reservation_id: UUID) -> Reservation:
    """The reservation, or ``ReservationNotFound``."""
    reservation = await work.reservations.get(reservation_id)
    if reservation is None:
        raise ReservationNotFound(reservation_id)
    return reservation


async def put_back(work: UnitOfWork, reservation: Reservation) -> None:
    """Return a hold's units to available stock, in product order (no lock cycles)."""
    for line in sorted(reservation.lines, key=lambda line: line.product_id):
        await work.products.put_back_stock(line.product_id, line.quantity)


async def expire(work: UnitOfWork, reservation: Reservation, now: datetime) -> bool:
    """Expire a lapsed hold and return its stock, unless someone else changed it first."""
    if not await work.reservations.change_status(
        reservation.id, HELD, ReservationStatus.EXPIRED, now, lapsed=True
    ):
        return False
    await put_back(work, reservation)
    return True
