"""Orders' reactions to its own integration events (at least once, so idempotent)."""

import logging

from orders.domain.ports import NotificationPort
from shop_contracts.events import IntegrationEvent, OrderPlaced

logger = logging.getLogger(__name__)

ORDER_CONFIRMATION_EMAIL = "order_confirmation_email"


async def send_order_confirmation(notifications: NotificationPort, event: IntegrationEvent) -> None:
    """Tell the customer we received their order."""
    assert isinstance(event, OrderPlaced)
    placed = event.payload
    if not placed.customer_email:
        logger.info(
            "no e-mail address; confirmation skipped", extra={"order_id": str(placed.order_id)}
        )
        return
    await notifications.send_email(
        placed.customer_email,
        f"Your order {placed.order_id}",
        (
            f"Thank you for your order of {placed.item_count} item(s), "
            f"{placed.total:.2f} {placed.currency}.\nOrder reference: {placed.order_id}\n"
        ),
        # Stable across retries so the provider (or reader) can drop duplicates.
        dedupe_key=f"order-placed:{event.id}",
    )
