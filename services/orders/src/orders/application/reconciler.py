"""Finish orders left pending (products was down, or the process died after saving)."""

import logging
from dataclasses import dataclass
from datetime import timedelta

from orders.application.settle import settle_pending
from orders.application.unit_of_work import UnitOfWorkFactory
from orders.domain.product_client import ProductServiceClient
from orders.domain.status import OrderStatus
from servicekit.clock import Clock, utc_now
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


class PendingOrderReconciler:
    """Retries confirmation of pending orders; fails them once their hold is gone."""

    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        products: ProductServiceClient,
        grace: timedelta,
        batch_size: int = 100,
        clock: Clock = utc_now,
    ) -> None:
        self._uow = uow
        self._products = products
        self._grace = grace
        self._batch_size = batch_size
        self._clock = clock

    async def run_once(self) -> ReconcileReport:
        """One pass over pending orders older than the grace period."""
        # The grace period leaves fresh orders to the request that is placing them.
        async with self._uow() as uow:
            ids = await uow.orders.list_ids_by_status(
                OrderStatus.PENDING,
                created_before=self._clock() - self._grace,
                limit=self._batch_size,
            )
            reservations = {}
            for order_id in ids:
                order = await uow.orders.get_by_id(order_id)
                if order is not None:
                    reservations[order_id] = order.reservation_id
        confirmed = failed = 0
        for order_id, reservation_id in reservations.items():
            try:
                await self._products.confirm(reservation_id)
            except (ReservationExpired, ReservationReleased, ReservationNotFound):
                await settle_pending(self._uow, order_id, confirmed=False, clock=self._clock)
                failed += 1
                continue
            except ProductsUnavailable:
                logger.warning("products unavailable; reconciliation deferred")
                return ReconcileReport(confirmed, failed, len(reservations) - confirmed - failed)
            await settle_pending(self._uow, order_id, confirmed=True, clock=self._clock)
            confirmed += 1
        if reservations:
            logger.info(
                "reconciled pending orders", extra={"confirmed": confirmed, "failed": failed}
            )
        return ReconcileReport(confirmed, failed, 0)
