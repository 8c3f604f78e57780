"""ReleaseReservationKey: release whatever a key holds and retire the key (ADR 0026)."""

from dataclasses import replace
from uuid import uuid4

from products.application.commands import ReleaseReservationKey
from products.application.holds import MAX_ROUNDS, RELEASABLE, check_key, put_back
from products.application.unit_of_work import UnitOfWorkFactory
from products.domain.reservation import Reservation, ReservationStatus
from servicekit.clock import Clock


async def release_reservation_key(
    command: ReleaseReservationKey, uow: UnitOfWorkFactory, clock: Clock
) -> Reservation:
    """Release whatever is held under a key and retire the key (idempotent).

    A caller that gave up on a hold (its reserve timed out, or failed after
    products may have made it) does not know whether the hold exists, nor its
    id. With no reservation under the key yet, a released one without lines is
    recorded, so a reserve still in flight with that key finds the key retired
    and holds nothing.
    """
    check_key(command.key)
    async with uow() as work:
        for _ in range(MAX_ROUNDS):
            existing = await work.reservations.get_by_key(command.key)
            now = clock()
            if existing is None:
                retired = Reservation(
                    id=uuid4(),
                    key=command.key,
                    request_hash="",
                    status=ReservationStatus.RELEASED,
                    expires_at=now,
                    created_at=now,
                    lines=(),
                )
                if await work.reservations.add_if_key_free(retired):
                    await work.commit()
                    return retired
                continue  # a hold under this key committed meanwhile: release that
            if not existing.holds_stock:
                return existing
            if await work.reservations.change_status(
                existing.id, RELEASABLE, ReservationStatus.RELEASED, now
            ):
                await put_back(work, existing)
                await work.commit()
                return replace(existing, status=ReservationStatus.RELEASED)
    raise RuntimeError(f"reservation key {command.key!r} kept changing during release")
