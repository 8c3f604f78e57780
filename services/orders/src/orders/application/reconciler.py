"""Finish orders left pending (products was down, or the process died after saving)."""

import logging
from dataclasses import dataclass
from datetime import timedelta

from orders.application.settle import settle_pending
from orders.application.unit_of_work import UnitOfWorkFactory
from orders.domain.product_client import ProductServiceClient
from orders.domain.status import OrderStatus
from servicekit.clock import Clock
from shop_contracts.errors import (
    ProductsUnavailable,
    ReservationExpired,
    ReservationNotFound,
    ReservationReleased,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    """What one pass did."""

    confirmed: int = 0
    failed: int = 0
    deferred: int = 0


async def reconcile_pending(
    uow: UnitOfWorkFactory,
    products: ProductServiceClient,
    clock: Clock,
    *,
    grace: timedelta,
    batch_size: int = 100,
) -> ReconcileReport:
    """One pass over pending orders older than ``grace``: confirm them, or fail them once
    their hold is gone."""
    # The grace period leaves fresh orders to the request that is placing them.
    async with uow() as work:
        ids = await work.orders.list_ids_by_status(
            OrderStatus.PENDING, created_before=clock() - grace, limit=batch_size
        )
        reservations = {}
        for order_id in ids:
            order = await work.orders.get_by_id(order_id)
            if order is not None:
                reservations[order_id] = order.reservation_id
    confirmed = failed = 0
    for order_id, reservation_id in reservations.items():
        try:
            await products.confirm(reservation_id)
        except (ReservationExpired, ReservationReleased, ReservationNotFound):
            await settle_pending(uow, order_id, confirmed=False, clock=clock)
            failed += 1
            continue
        except ProductsUnavailable:
            logger.warning("products unavailable; reconciliation deferred")
            return ReconcileReport(confirmed, failed, len(reservations) - confirmed - failed)
        await settle_pending(uow, order_id, confirmed=True, clock=clock)
        confirmed += 1
    if reservations:
        logger.info("reconciled pending orders", extra={"confirmed": confirmed, "failed": failed})
    return ReconcileReport(confirmed, failed, 0)
