"""PlaceOrder: reserve, save the order with its event, then confirm (ADR 0019, ADR 0020, ADR 0026)."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from orders.application.commands import PlaceOrder
from orders.application.settle import settle_pending
from orders.application.unit_of_work import UnitOfWorkFactory
from orders.domain.errors import ConcurrentModification, DuplicateOrder
from orders.domain.order import (
    Order,
    OrderItem,
    checked_cart,
    request_hash,
    reservation_key,
)
from orders.domain.product_client import ProductServiceClient
from servicekit.clock import Clock
from servicekit.deadlines import detached
from shop_contracts.errors import (
    DomainError,
    IdempotencyKeyReused,
    ProductsUnavailable,
    ReservationExpired,
    ReservationNotFound,
    ReservationReleased,
)
from shop_contracts.money import Money
from shop_contracts.reservations import (
    Reservation,
    ReservationLineRequest,
    ReservationStatus,
)

logger = logging.getLogger(__name__)

AfterReserveHook = Callable[[Reservation], Awaitable[None]]
"""Runs between reserve and commit; tests inject faults here to prove nothing is lost."""


@dataclass(frozen=True, slots=True)
class PlacedOrder:
    """The order, and whether this call created it (False for an idempotent replay)."""

    order: Order
    created: bool


async def place_order(
    cmd: PlaceOrder,
    uow: UnitOfWorkFactory,
    autocommit_uow: UnitOfWorkFactory,
    products: ProductServiceClient,
    clock: Clock,
    *,
    max_items: int,
    after_reserve: AfterReserveHook | None = None,
) -> PlacedOrder:
    """Reserve, save with ``OrderPlaced``, confirm; the same key and cart replay the order.

    ``autocommit_uow`` serves the idempotency lookup, a read of rows that never change
    once written, so it may run outside a transaction. It runs once; it is read again
    only where a concurrent request with the same key may have saved the order since.
    """
    lines = checked_cart(cmd.lines, max_items)
    fingerprint = request_hash(lines)
    existing = await _existing(autocommit_uow, cmd, fingerprint)
    if existing is not None:
        return PlacedOrder(existing, created=False)

    key = reservation_key(cmd.user_id, cmd.idempotency_key)
    try:
        reservation = await products.reserve(
            key,
            [
                ReservationLineRequest(product_id=ln.product_id, quantity=ln.quantity)
                for ln in lines
            ],
        )
    except ProductsUnavailable as exc:
        if exc.maybe_applied:
            await _release_key(autocommit_uow, products, cmd, fingerprint, key)
        raise
    except asyncio.CancelledError:
        await _release_key(autocommit_uow, products, cmd, fingerprint, key)
        raise
    dead = reservation.status in (ReservationStatus.RELEASED, ReservationStatus.EXPIRED)
    if dead and not reservation.lines:
        # A key retired by a release-by-key before any hold was made under it: no
        # order can have been placed on it, so the lookup above is still the answer.
        raise _gone(reservation)
    try:
        # Products refuses such holds before keeping anything, so the key stays free
        # (ADR 0020); this check of the held prices is the backstop that never saves
        # an order breaking them, and returns the hold.
        order = _new_order(cmd, fingerprint, reservation, clock)
    except DomainError:
        if not dead:
            await _compensate(products, reservation)
        raise
    if dead:
        return await _dead_reservation(autocommit_uow, cmd, fingerprint, reservation)

    try:
        if after_reserve is not None:
            await after_reserve(reservation)
        async with uow() as work:
            await work.orders.save(order)
            await work.commit()
    except DuplicateOrder:
        # A concurrent request with the same key committed first; it holds the
        # very same reservation, so releasing it here would undo that order.
        twin = await _existing(autocommit_uow, cmd, fingerprint)
        if twin is None:
            raise
        return PlacedOrder(twin, created=False)
    except BaseException:
        await _compensate(products, reservation)
        raise
    return PlacedOrder(await _confirm(uow, products, order, clock), created=True)


async def _existing(
    autocommit_uow: UnitOfWorkFactory, cmd: PlaceOrder, fingerprint: str
) -> Order | None:
    async with autocommit_uow() as work:
        order = await work.orders.get_by_idempotency_key(cmd.user_id, cmd.idempotency_key)
    if order is not None and order.request_hash != fingerprint:
        raise IdempotencyKeyReused()
    return order


async def _dead_reservation(
    autocommit_uow: UnitOfWorkFactory, cmd: PlaceOrder, fingerprint: str, reservation: Reservation
) -> PlacedOrder:
    # The key's earlier attempt held stock and the hold is gone; unless a concurrent
    # twin saved an order on it since the lookup (and that order was cancelled or
    # failed), the caller must retry with a new key.
    existing = await _existing(autocommit_uow, cmd, fingerprint)
    if existing is not None:
        return PlacedOrder(existing, created=False)
    raise _gone(reservation)


def _gone(reservation: Reservation) -> DomainError:
    detail = "The stock held for this Idempotency-Key is gone; retry with a new key"
    if reservation.status is ReservationStatus.EXPIRED:
        return ReservationExpired(reservation.id, detail)
    return ReservationReleased(reservation.id, detail)


def _new_order(cmd: PlaceOrder, fingerprint: str, reservation: Reservation, clock: Clock) -> Order:
    items = [
        OrderItem(
            product_id=line.product_id,
            product_name=line.product_name,
            quantity=line.quantity,
            unit_price=Money(line.unit_price, line.currency),
        )
        for line in reservation.lines
    ]
    return Order.place(
        user_id=cmd.user_id,
        customer_email=cmd.customer_email,
        idempotency_key=cmd.idempotency_key,
        request_hash=fingerprint,
        reservation_id=reservation.id,
        items=items,
        now=clock(),
    )


RELEASE_WAIT_SECONDS = 0.25
"""How long a failed placement waits for its release by key before answering.

A products service that answers at all releases in milliseconds; one that did not
answer the reserve will not answer this either, and the consumer's 503 should not wait
a second deadline for it. The release carries on in the background past this wait.
"""

# The event loop keeps only weak references to tasks: these keep unfinished releases alive.
_releases_in_flight: set[asyncio.Task[None]] = set()


async def _release_key(
    autocommit_uow: UnitOfWorkFactory,
    products: ProductServiceClient,
    cmd: PlaceOrder,
    fingerprint: str,
    key: str,
) -> None:
    """The reserve's outcome is unknown: return any hold it made, now (ADR 0009).

    The release runs as a task of its own, so neither a cancelled request nor the
    bounded wait stops it; the wait only decides when the caller gets its answer.
    """
    task = asyncio.create_task(_release_by_key(autocommit_uow, products, cmd, fingerprint, key))
    _releases_in_flight.add(task)
    task.add_done_callback(_releases_in_flight.discard)
    await asyncio.wait({task}, timeout=RELEASE_WAIT_SECONDS)


async def _release_by_key(
    autocommit_uow: UnitOfWorkFactory,
    products: ProductServiceClient,
    cmd: PlaceOrder,
    fingerprint: str,
    key: str,
) -> None:
    try:
        # Out of the placement's budget: the release must happen after it gave up.
        with detached():
            # A concurrent request with the same key may own the hold: leave it be.
            if await _existing(autocommit_uow, cmd, fingerprint) is not None:
                return
            await products.release_by_key(key)
    except Exception:
        logger.exception(
            "release by key failed; stock returns when the hold expires",
            extra={"reservation_key": key},
        )


async def _compensate(products: ProductServiceClient, reservation: Reservation) -> None:
    try:
        # Shielded so a cancelled request still returns its stock, and out of the
        # placement's budget, which may be what ran out.
        with detached():
            await asyncio.shield(products.release(reservation.id))
    except Exception:
        # The hold lapses on its own after the TTL; the sweeper returns the stock.
        logger.exception(
            "compensation failed; stock returns when the hold expires",
            extra={"reservation_id": str(reservation.id)},
        )


async def _confirm(
    uow: UnitOfWorkFactory, products: ProductServiceClient, order: Order, clock: Clock
) -> Order:
    # The order is durable: whatever fails from here on, the answer is that order
    # (pending when it could not be settled; the reconciler settles it), so one key
    # has one answer once the order exists (ADR 0019).
    try:
        await products.confirm(order.reservation_id)
    except (ReservationExpired, ReservationReleased, ReservationNotFound):
        return await _settled_or_pending(uow, order, clock, confirmed=False)
    except Exception:
        # ProductsUnavailable, or products' database failing under LocalProductClient.
        return _left_pending(
            order, "confirm failed; the order stays pending and the reconciler will retry"
        )
    return await _settle_confirmed(uow, order, clock)


async def _settle_confirmed(uow: UnitOfWorkFactory, order: Order, clock: Clock) -> Order:
    # This call saved the order a moment ago, so it settles the copy in hand with an
    # optimistic version check instead of reloading it under a row lock (two
    # statements fewer, ADR 0011). Whoever changed it meanwhile (a cancel, the
    # reconciler) fails the check, and the locked path decides on the state they left.
    # A copy, so that the pending order in hand is still the answer if the save fails.
    confirmed = replace(order, events=list(order.events))
    confirmed.confirm(clock())
    try:
        async with uow() as unit:
            await unit.orders.save(confirmed)
            await unit.commit()
    except ConcurrentModification:
        return await _settled_or_pending(uow, order, clock, confirmed=True)
    except Exception:
        return _left_pending(
            order, "settling a confirmed order failed; it stays pending until the reconciler runs"
        )
    return confirmed


async def _settled_or_pending(
    uow: UnitOfWorkFactory, order: Order, clock: Clock, *, confirmed: bool
) -> Order:
    """The order as the locked settle leaves it; the pending order if the settle fails."""
    try:
        return await settle_pending(uow, order.id, confirmed=confirmed, clock=clock)
    except Exception:
        return _left_pending(
            order, "settling the order failed; it stays pending until the reconciler runs"
        )


def _left_pending(order: Order, why: str) -> Order:
    """The pending order as the answer, logged with ``why`` and the failure being handled."""
    logger.warning(why, exc_info=True, extra={"order_id": str(order.id)})
    return order
