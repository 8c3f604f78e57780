"""ReserveStock: hold every line or none; the same key and lines replay the hold (ADR 0026)."""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from uuid import uuid4

from products.application.commands import ReserveStock
from products.application.holds import MAX_ROUNDS, check_key, expire
from products.application.unit_of_work import UnitOfWork, UnitOfWorkFactory
from products.domain.errors import (
    IdempotencyKeyReused,
    InsufficientStock,
    InvalidInput,
    MixedCurrencies,
    OrderTotalTooLarge,
    ProductNotFound,
)
from products.domain.reservation import (
    HoldRequest,
    Reservation,
    ReservationLine,
    ReservationStatus,
    merged_lines,
    request_fingerprint,
)
from servicekit.clock import Clock
from shop_contracts.limits import MAX_LINE_QUANTITY, MAX_ORDER_TOTAL
from shop_contracts.money import Money, to_minor

_MAX_TOTAL_MINOR = to_minor(MAX_ORDER_TOTAL)


@dataclass(frozen=True, slots=True)
class ReserveOutcome:
    """The reservation, and whether this call created it (or replayed an earlier one)."""

    reservation: Reservation
    created: bool


async def reserve_stock(
    command: ReserveStock, uow: UnitOfWorkFactory, clock: Clock, ttl: timedelta
) -> ReserveOutcome:
    """Hold every line or none, in one transaction; the same key and lines replay the hold."""
    check_key(command.key)
    lines = merged_lines(command.lines)
    if not lines:
        raise ValueError("a reservation needs at least one line")
    if any(line.quantity > MAX_LINE_QUANTITY for line in lines):
        # Lines of one product are merged; the sum must still be one valid line,
        # as orders requires of a cart (a response line never passes the limit).
        raise InvalidInput(f"A reservation may hold at most {MAX_LINE_QUANTITY} units of a product")
    fingerprint = request_fingerprint(lines)
    async with uow() as work:
        # Made in one statement where the database can (ADR 0028); otherwise, or when
        # refused or replayed, step by step below, which says why.
        now = clock()
        request = HoldRequest(uuid4(), command.key, fingerprint, lines, now, now + ttl)
        held = await work.reservations.hold_alone(request, _MAX_TOTAL_MINOR)
        if held is not None:
            return ReserveOutcome(held, created=True)
        products = await work.products.get_many([line.product_id for line in lines])
        unknown = [line.product_id for line in lines if line.product_id not in products]
        if unknown:
            raise ProductNotFound(unknown)
        reservation = Reservation(
            id=request.id,
            key=request.key,
            request_hash=request.request_hash,
            status=ReservationStatus.HELD,
            expires_at=request.expires_at,
            created_at=request.created_at,
            lines=tuple(
                ReservationLine(
                    product_id=line.product_id,
                    quantity=line.quantity,
                    product_name=products[line.product_id].name,
                    unit_price=products[line.product_id].price,
                )
                for line in lines
            ),
        )
        # Claim the key before touching stock: a concurrent request with the same
        # key waits on the unique index and then sees this one instead of holding twice.
        if not await work.reservations.add_if_key_free(reservation):
            return ReserveOutcome(
                await _replay(work, command.key, fingerprint, clock), created=False
            )
        # A hold is priced in one currency and within one order total. Refused here,
        # before the commit, the claim above rolls back with everything else: a
        # refusal keeps nothing, so the key stays free for a corrected request (ADR 0020).
        _check_priced_lines(reservation.lines)
        short = [
            line.product_id
            for line in lines
            if not await work.products.take_stock(line.product_id, line.quantity)
        ]
        if short:
            raise InsufficientStock(short)
        await work.commit()
    return ReserveOutcome(reservation, created=True)


def _check_priced_lines(lines: Sequence[ReservationLine]) -> None:
    """``MixedCurrencies`` or ``OrderTotalTooLarge`` for lines no order could be placed on."""
    currencies = {line.unit_price.currency for line in lines}
    if len(currencies) > 1:
        raise MixedCurrencies(currencies)
    total = Money.zero(currencies.pop())
    for line in lines:
        total = total + line.unit_price.times(line.quantity)
    if total.amount > MAX_ORDER_TOTAL:
        raise OrderTotalTooLarge(total.amount)


async def _replay(work: UnitOfWork, key: str, fingerprint: str, clock: Clock) -> Reservation:
    for _ in range(MAX_ROUNDS):
        existing = await work.reservations.get_by_key(key)
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
        if await expire(work, existing, now):
            await work.commit()
            return replace(existing, status=ReservationStatus.EXPIRED)
    raise RuntimeError(f"reservation key {key!r} kept changing during replay")
