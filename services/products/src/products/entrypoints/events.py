"""Integration events products consumes: the message-side twin of the HTTP routers."""

import logging
from typing import Protocol

from products.application.commands import ReleaseCancelledOrder
from servicekit.events.handlers import Subscription
from shop_contracts.events import IntegrationEvent, OrderCancelled

logger = logging.getLogger(__name__)

RELEASE_CANCELLED_ORDER = "products_release_cancelled_order"


class CancelledOrderReleaser(Protocol):
    """What the subscription calls (the products facade)."""

    async def release_cancelled_order(self, command: ReleaseCancelledOrder) -> bool:
        """Release the hold once per event."""
        ...


def subscriptions(service: CancelledOrderReleaser) -> tuple[Subscription, ...]:
    """Every subscription of products (run in-process or behind a queue)."""

    async def release(event: IntegrationEvent) -> None:
        assert isinstance(event, OrderCancelled)
        reservation_id = event.payload.reservation_id
        if reservation_id is None:
            logger.warning(
                "OrderCancelled without a reservation id; nothing to release",
                extra={"event_id": str(event.id), "order_id": str(event.payload.order_id)},
            )
            return
        await service.release_cancelled_order(
            ReleaseCancelledOrder(event.id, RELEASE_CANCELLED_ORDER, reservation_id)
        )

    return (Subscription(RELEASE_CANCELLED_ORDER, (OrderCancelled,), release),)
