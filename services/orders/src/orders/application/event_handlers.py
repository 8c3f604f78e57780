"""Reactions to domain events, run by the outbox relay (at least once, so idempotent)."""

import logging

from orders.domain.events import DomainEvent, OrderPlaced
from orders.domain.ports import EventHandler, NotificationPort

logger = logging.getLogger(__name__)

ORDER_CONFIRMATION_EMAIL = "order_confirmation_email"


def order_confirmation_email(notifications: NotificationPort) -> EventHandler:
    """Tell the customer we received their order."""

    async def handle(event: DomainEvent) -> None:
        assert isinstance(event, OrderPlaced)
        if not event.customer_email:
            logger.info(
                "no e-mail address; confirmation skipped", extra={"order_id": str(event.order_id)}
            )
            return
        await notifications.send_email(
            event.customer_email,
            f"Your order {event.order_id}",
            (
                f"Thank you for your order of {event.item_count} item(s), "
                f"{event.total:.2f} {event.currency}.\nOrder reference: {event.order_id}\n"
            ),
            # Stable across retries so the provider (or reader) can drop duplicates.
            dedupe_key=f"order-placed:{event.event_id}",
        )

    return handle
