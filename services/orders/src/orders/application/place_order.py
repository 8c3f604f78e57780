"""PlaceOrder: reserve, save the order with its event, then confirm (ADR 0019, ADR 0020, ADR 0028)."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from orders.application.commands import PlaceOrder
from orders.application.settle import confirm_placed
from orders.application.unit_of_work import UnitOfWorkFactory
from orders.domain.errors import DuplicateOrder
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

    The key's hold comes first (ADR 0028): products answers a repeated key with that
    key's hold, refusing other lines, so a new order costs no read of its key. The
    order is read by its key (on ``autocommit_uow``: rows that never change once
    written) only where the hold says it may exist: confirmed, gone, or a save that
    met the order a twin request saved.
    """
    lines = checked_cart(cmd.lines, max_items)
    fingerprint = request_hash(lines)
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
        # A replay needs no products: it is answered by the stored order (ADR 0019).
        if (existing := await _existing_if_readable(autocommit_uow, cmd, fingerprint)) is not None:
            return PlacedOrder(existing, created=False)
        if exc.maybe_applied:
            await _release_key(autocommit_uow, products, cmd, fingerprint, key)
        raise
    except asyncio.CancelledError:
        await _release_key(autocommit_uow, products, cmd, fingerprint, key)
        raise
    dead = reservation.status in (ReservationStatus.RELEASED, ReservationStatus.EXPIRED)
    if dead and not reservation.lines:
        # Retired by a release-by-key before any hold: no order was placed on it.
        raise _gone(reservation)
    if reservation.status is ReservationStatus.CONFIRMED:
        # Only a saved order's hold is confirmed: a replay, answered by that order.
        existing = await _existing(autocommit_uow, cmd, fingerprint)
        if existing is not None:
            return PlacedOrder(existing, created=False)
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
        # The key's order exists (pending, so its hold is still held; or saved by a
        # concurrent twin): it holds this very reservation, which must stay held.
        twin = await _existing(autocommit_uow, cmd, fingerprint)
        if twin is None:
            raise
        if twin.reservation_id != reservation.id:
            await _compensate(products, reservation)  # a hold no order will confirm
        return PlacedOrder(twin, created=False)
    except BaseException:
        await _compensate(products, reservation)
        raise
    return PlacedOrder(await confirm_placed(uow, products, order, clock), created=True)


async def _existing(
    autocommit_uow: UnitOfWorkFactory, cmd: PlaceOrder, fingerprint: str
) -> Order | None:
    async with autocommit_uow() as work:
        order = await work.orders.get_by_idempotency_key(cmd.user_id, cmd.idempotency_key)
    if order is not None and order.request_hash != fingerprint:
        raise IdempotencyKeyReused()
    return order


async def _existing_if_readable(
    autocommit_uow: UnitOfWorkFactory, cmd: PlaceOrder, fingerprint: str
) -> Order | None:
    """``_existing``, or ``None`` when orders' own database cannot say either."""
    try:
        return await _existing(autocommit_uow, cmd, fingerprint)
    except IdempotencyKeyReused:
        raise
    except Exception:
        logger.warning("the idempotency lookup failed too", exc_info=True)
        return None


async def _dead_reservation(
    autocommit_uow: UnitOfWorkFactory, cmd: PlaceOrder, fingerprint: str, reservation: Reservation
) -> PlacedOrder:
    # The key's earlier attempt held stock and the hold is gone: the order it was
    # placed for (cancelled, or failed) is the answer; without one, the caller must
    # retry with a new key.
    existing = await _existing(autocommit_uow, cmd, fingerprint)
    if existing is not None:
        return PlacedOrder(existing, created=False)
    raise _gone(reservation)


def _gone(reservation: Reservation) -> DomainError:
    detail = "The stock held for this Idempotency-Key is gone; retry with a new key"
    expired = reservation.status is ReservationStatus.EXPIRED
    return (ReservationExpired if expired else ReservationReleased)(reservation.id, detail)


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
