"""Reserve, confirm, release and expire stock holds."""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

from products.application.commands import (
    ConfirmReservation,
    ReleaseReservation,
    ReleaseReservationKey,
    ReserveStock,
)
from products.application.unit_of_work import UnitOfWork, UnitOfWorkFactory
from products.domain.errors import (
    IdempotencyKeyReused,
    InsufficientStock,
    InvalidInput,
    MixedCurrencies,
    OrderTotalTooLarge,
    ProductNotFound,
    ReservationExpired,
    ReservationNotFound,
    ReservationReleased,
)
from products.domain.reservation import (
    Reservation,
    ReservationLine,
    ReservationStatus,
    normalise_lines,
    request_fingerprint,
)
from servicekit.clock import Clock
from shop_contracts.limits import MAX_KEY_LENGTH, MAX_LINE_QUANTITY, MAX_ORDER_TOTAL

_HELD = frozenset({ReservationStatus.HELD})
_RELEASABLE = frozenset({ReservationStatus.HELD, ReservationStatus.CONFIRMED})
# Statuses only move forward (held → terminal, confirmed → released), so a lost
# race settles within two rounds; the bound turns a logic error into an error, not a hang.
_MAX_ROUNDS = 4


@dataclass(frozen=True, slots=True)
class ReserveOutcome:
    """The reservation, and whether this call created it (or replayed an earlier one)."""

    reservation: Reservation
    created: bool


async def reserve_stock(
    command: ReserveStock, uow: UnitOfWork, clock: Clock, ttl: timedelta
) -> ReserveOutcome:
    """Hold every line or none, in one transaction; the same key and lines replay the hold."""
    if not 1 <= len(command.key) <= MAX_KEY_LENGTH:
        raise ValueError(f"a reservation key has 1 to {MAX_KEY_LENGTH} characters")
    lines = normalise_lines(command.lines)
    if not lines:
        raise ValueError("a reservation needs at least one line")
    if any(line.quantity > MAX_LINE_QUANTITY for line in lines):
        # Lines of one product are merged; the sum must still be one valid line,
        # as orders requires of a cart (a response line never passes the limit).
        raise InvalidInput(f"A reservation may hold at most {MAX_LINE_QUANTITY} units of a product")
    fingerprint = request_fingerprint(lines)
    async with uow:
        products = await uow.products.get_many([line.product_id for line in lines])
        unknown = [line.product_id for line in lines if line.product_id not in products]
        if unknown:
            raise ProductNotFound(unknown)
        now = clock()
        reservation = Reservation(
            id=uuid4(),
            key=command.key,
            request_hash=fingerprint,
            status=ReservationStatus.HELD,
            expires_at=now + ttl,
            created_at=now,
            lines=tuple(
                ReservationLine(
                    product_id=line.product_id,
                    quantity=line.quantity,
                    product_name=products[line.product_id].name,
                    unit_price=products[line.product_id].price,
                    currency=products[line.product_id].currency,
                )
                for line in lines
            ),
        )
        # Claim the key before touching stock: a concurrent request with the same
        # key waits on the unique index and then sees this one instead of holding twice.
        if not await uow.reservations.add_if_key_free(reservation):
            return ReserveOutcome(
                await _replay(uow, command.key, fingerprint, clock), created=False
            )
        # A hold is priced in one currency and within one order total. Refused here,
        # before the commit, the claim above rolls back with everything else: a
        # refusal keeps nothing, so the key stays free for a corrected request (ADR 0020).
        _check_priced_lines(reservation.lines)
        short = [
            line.product_id
            for line in lines
            if not await uow.products.take_stock(line.product_id, line.quantity)
        ]
        if short:
            raise InsufficientStock(short)
        await uow.commit()
    return ReserveOutcome(reservation, created=True)


def _check_priced_lines(lines: Sequence[ReservationLine]) -> None:
    """``MixedCurrencies`` or ``OrderTotalTooLarge`` for lines no order could be placed on."""
    currencies = {line.currency for line in lines}
    if len(currencies) > 1:
        raise MixedCurrencies(currencies)
    total = sum((line.unit_price * line.quantity for line in lines), Decimal(0))
    if total > MAX_ORDER_TOTAL:
        raise OrderTotalTooLarge(total)


async def _replay(uow: UnitOfWork, key: str, fingerprint: str, clock: Clock) -> Reservation:
    for _ in range(_MAX_ROUNDS):
        existing = await uow.reservations.get_by_key(key)
        if existing is None:
            # The insert conflicted, so a committed row with this key exists; not seeing
            # it means the isolation level is weaker than read committed.
            raise RuntimeError(f"reservation key {key!r} conflicted but no reservation is visible")
        if existing.retires_key:
            return existing  # released by key before this hold arrived: nothing is held
        if existing.request_hash != fingerprint:
            raise IdempotencyKeyReused()
        now = clock()
        if not existing.is_lapsed(now):
            return existing
        # Past its expiry a hold is expired whether or not the sweeper came by: never
        # replay it as held (the caller would build on stock it no longer has).
        if await _expire(uow, existing, now):
            await uow.commit()
            return replace(existing, status=ReservationStatus.EXPIRED)
    raise RuntimeError(f"reservation key {key!r} kept changing during replay")


async def _load(uow: UnitOfWork, reservation_id: UUID) -> Reservation:
    reservation = await uow.reservations.get(reservation_id)
    if reservation is None:
        raise ReservationNotFound(reservation_id)
    return reservation


async def _put_back(uow: UnitOfWork, reservation: Reservation) -> None:
    for line in sorted(reservation.lines, key=lambda line: line.product_id):
        await uow.products.put_back_stock(line.product_id, line.quantity)


async def _expire(uow: UnitOfWork, reservation: Reservation, now: datetime) -> bool:
    """Expire a lapsed hold and return its stock, unless someone else changed it first."""
    if not await uow.reservations.change_status(
        reservation.id, _HELD, ReservationStatus.EXPIRED, now, lapsed=True
    ):
        return False
    await _put_back(uow, reservation)
    return True


async def confirm_reservation(
    command: ConfirmReservation, uow: UnitOfWork, clock: Clock
) -> Reservation:
    """Held → confirmed (idempotent); a lapsed hold is expired on the spot and refused."""
    async with uow:
        # The common case, a live hold, is one conditional update (one round trip on
        # PostgreSQL, ADR 0022); anything else is decided on the state as read.
        confirmed = await uow.reservations.confirm_if_held(command.reservation_id, clock())
        if confirmed is not None:
            await uow.commit()
            return confirmed
        # Every status change is conditional; when another process wins the race
        # we re-read and decide again on the state it left.
        for _ in range(_MAX_ROUNDS):
            reservation = await _load(uow, command.reservation_id)
            now = clock()
            if reservation.status is ReservationStatus.CONFIRMED:
                return reservation
            if reservation.status is ReservationStatus.RELEASED:
                raise ReservationReleased(reservation.id)
            if reservation.status is ReservationStatus.EXPIRED:
                raise ReservationExpired(reservation.id)
            if reservation.is_lapsed(now):
                if await _expire(uow, reservation, now):
                    await uow.commit()
                    raise ReservationExpired(reservation.id)
            elif await uow.reservations.change_status(
                reservation.id, _HELD, ReservationStatus.CONFIRMED, now, lapsed=False
            ):
                await uow.commit()
                return replace(reservation, status=ReservationStatus.CONFIRMED)
    raise RuntimeError(f"reservation {command.reservation_id} kept changing during confirm")


async def release_reservation(
    command: ReleaseReservation, uow: UnitOfWork, clock: Clock
) -> Reservation:
    """Held or confirmed → released with stock returned; otherwise unchanged (idempotent)."""
    async with uow:
        reservation, released = await release_in(uow, command.reservation_id, clock)
        if released:
            await uow.commit()
    return reservation


async def release_in(
    uow: UnitOfWork, reservation_id: UUID, clock: Clock
) -> tuple[Reservation, bool]:
    """Release inside the caller's open unit of work (it commits); whether this call did."""
    for _ in range(_MAX_ROUNDS):
        reservation = await _load(uow, reservation_id)
        if not reservation.holds_stock:
            return reservation, False
        if await uow.reservations.change_status(
            reservation.id, _RELEASABLE, ReservationStatus.RELEASED, clock()
        ):
            await _put_back(uow, reservation)
            return replace(reservation, status=ReservationStatus.RELEASED), True
    raise RuntimeError(f"reservation {reservation_id} kept changing during release")


async def release_reservation_key(
    command: ReleaseReservationKey, uow: UnitOfWork, clock: Clock
) -> Reservation:
    """Release whatever is held under a key and retire the key (idempotent).

    A caller that gave up on a hold (its reserve timed out, or failed after
    products may have made it) does not know whether the hold exists, nor its
    id. With no reservation under the key yet, a released one without lines is
    recorded, so a reserve still in flight with that key finds the key retired
    and holds nothing.
    """
    if not 1 <= len(command.key) <= MAX_KEY_LENGTH:
        raise ValueError(f"a reservation key has 1 to {MAX_KEY_LENGTH} characters")
    async with uow:
        for _ in range(_MAX_ROUNDS):
            existing = await uow.reservations.get_by_key(command.key)
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
                if await uow.reservations.add_if_key_free(retired):
                    await uow.commit()
                    return retired
                continue  # a hold under this key committed meanwhile: release that
            if not existing.holds_stock:
                return existing
            if await uow.reservations.change_status(
                existing.id, _RELEASABLE, ReservationStatus.RELEASED, now
            ):
                await _put_back(uow, existing)
                await uow.commit()
                return replace(existing, status=ReservationStatus.RELEASED)
    raise RuntimeError(f"reservation key {command.key!r} kept changing during release")


async def expire_lapsed(uow_factory: UnitOfWorkFactory, clock: Clock, batch_size: int) -> int:
    """Expire up to ``batch_size`` lapsed holds, one transaction each; how many this call expired.

    One reservation per transaction keeps lock sets tiny, so two sweepers (or a
    sweeper and a confirm) never deadlock; the conditional status change makes
    sure only one of them returns the stock.
    """
    async with uow_factory() as uow:
        candidates = await uow.reservations.lapsed_ids(clock(), batch_size)
    expired = 0
    for reservation_id in candidates:
        async with uow_factory() as uow:
            reservation = await uow.reservations.get(reservation_id)
            now = clock()
            if reservation is None or not reservation.is_lapsed(now):
                continue  # confirmed, released or expired by someone else meanwhile
            if await _expire(uow, reservation, now):
                await uow.commit()
                expired += 1
    return expired
