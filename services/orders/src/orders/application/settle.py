"""Confirm a placed order's hold and record the outcome (ADR 0011, ADR 0019)."""

import logging
from dataclasses import replace
from uuid import UUID

from orders.application.unit_of_work import UnitOfWorkFactory
from orders.domain.errors import ConcurrentModification, OrderNotFound
from orders.domain.order import Order
from orders.domain.product_client import ProductServiceClient
from orders.domain.status import OrderStatus
from servicekit.clock import Clock
from shop_contracts.errors import ReservationExpired, ReservationNotFound, ReservationReleased

logger = logging.getLogger(__name__)


async def settle_pending(
    uow_factory: UnitOfWorkFactory, order_id: UUID, *, confirmed: bool, clock: Clock
) -> Order:
    """Confirm or fail the order if it is still pending; return its current state.

    The row is locked, so a concurrent cancel or a second reconciler sees the
    settled status instead of overwriting it.
    """
    async with uow_factory() as uow:
        order = await uow.orders.get_with_items(order_id, for_update=True)
        if order is None:
            raise OrderNotFound(order_id)
        if order.status is OrderStatus.PENDING:
            if confirmed:
                order.confirm(clock())
            else:
                order.fail(clock())
            await uow.orders.save(order)
            await uow.commit()
        return order


async def confirm_placed(
    uow: UnitOfWorkFactory, products: ProductServiceClient, order: Order, clock: Clock
) -> Order:
    """Confirm the just-saved order's hold and settle it; the pending order if either fails."""
    # The order is durable: whatever fails from here on, the answer is that order
    # (pending when it could not be settled; the reconciler settles it), so one key
    # has one answer once the order exists (ADR 0019).
    try:
        await products.confirm(order.reservation_id)
    except (ReservationExpired, ReservationReleased, ReservationNotFound):
        return await _settled_or_pending(uow, order, clock, confirmed=False)
    except Exception:
        # ProductsUnavailable, or products' database failing under LocalProductClient.
        logger.warning(
            "confirm failed; the order stays pending and the reconciler will retry",
            exc_info=True,
            extra={"order_id": str(order.id)},
        )
        return order
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
        logger.warning(
            "settling a confirmed order failed; it stays pending until the reconciler runs",
            exc_info=True,
            extra={"order_id": str(order.id)},
        )
        return order
    return confirmed


async def _settled_or_pending(
    uow: UnitOfWorkFactory, order: Order, clock: Clock, *, confirmed: bool
) -> Order:
    """The order as the locked settle leaves it; the pending order if the settle fails."""
    try:
        return await settle_pending(uow, order.id, confirmed=confirmed, clock=clock)
    except Exception:
        logger.warning(
            "settling the order failed; it stays pending until the reconciler runs",
            exc_info=True,
            extra={"order_id": str(order.id)},
        )
        return order
