"""Orders' own consumers: each applies an event once, recorded in orders' inbox."""

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncEngine

from orders.adapters.db.tables import inbox
from orders.application.event_handlers import ORDER_CONFIRMATION_EMAIL, send_order_confirmation
from orders.domain.ports import NotificationPort
from servicekit.clock import Clock
from servicekit.events.handlers import IntegrationHandler, Subscription
from servicekit.events.inbox import claim_in, claim_statement
from servicekit.sql import Sql
from shop_contracts.events import IntegrationEvent, OrderPlaced

_CLAIM = claim_statement(inbox)


def inbox_guarded(
    engine: AsyncEngine,
    name: str,
    effect: Callable[[IntegrationEvent], Awaitable[None]],
    clock: Clock,
) -> IntegrationHandler:
    """Run ``effect`` unless the inbox says ``name`` already did; the claim commits after it.

    An effect outside the database (an e-mail) that succeeded just before a
    failed commit runs again on redelivery: at least once, with the event id as
    the provider's dedupe key.
    """

    async def handle(event: IntegrationEvent) -> None:
        async with Sql(engine) as sql:
            if not await claim_in(sql, _CLAIM, event.id, name, clock()):
                return
            await effect(event)
            await sql.commit()

    return handle


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
        inbox_guarded(engine, ORDER_CONFIRMATION_EMAIL, send, clock),
    )
