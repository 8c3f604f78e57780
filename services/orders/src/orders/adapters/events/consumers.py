"""Orders' own consumers: each applies an event once, recorded in orders' inbox."""

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncEngine

from orders.adapters.db.tables import inbox
from orders.application.event_handlers import ORDER_CONFIRMATION_EMAIL, send_order_confirmation
from orders.domain.ports import NotificationPort
from servicekit.clock import Clock
from servicekit.events.handlers import Subscription
from servicekit.events.inbox import claim_statement, inbox_guarded
from shop_contracts.events import IntegrationEvent, OrderPlaced

_CLAIM = claim_statement(inbox)


def confirmation_email(
    engine: AsyncEngine,
    notifications: NotificationPort,
    clock: Clock,
    *,
    enabled: Callable[[], bool],
) -> Subscription:
    """OrderPlaced → the confirmation e-mail (the ``confirmation_email`` flag off: nothing).

    ``enabled`` is asked per event, so an operator's change applies to the next one.
    """

    async def send(event: IntegrationEvent) -> None:
        if enabled():
            await send_order_confirmation(notifications, event)

    return Subscription(
        ORDER_CONFIRMATION_EMAIL,
        (OrderPlaced,),
        inbox_guarded(engine, _CLAIM, ORDER_CONFIRMATION_EMAIL, send, clock),
    )
