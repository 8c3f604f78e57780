"""``APP_EVENT_BUS``: what the outbox relay does with each event (ADR 0013)."""

import logging
from collections.abc import Sequence
from contextlib import AsyncExitStack

from orders.adapters.events.translate import INTEGRATION_TYPES, to_integration_event
from orders.application.event_bus import EventBus
from orders.config import Settings
from orders.domain.events import DomainEvent
from orders.domain.ports import EventHandler
from servicekit.events.handlers import Subscription
from servicekit.events.publisher import RabbitPublisher
from servicekit.events.settings import EventBusMode
from servicekit.outbox.handlers import RetryLater
from servicekit.requestid import current_request_id
from servicekit.tracing import current_traceparent

logger = logging.getLogger(__name__)

PUBLISH_HANDLER = "publish"


def _local_handler(subscription: Subscription) -> EventHandler:
    async def handle(event: DomainEvent) -> None:
        await subscription.handler(to_integration_event(event, current_request_id()))

    return handle


def local_bus(subscriptions: Sequence[Subscription]) -> EventBus:
    """In-process delivery of every subscription."""
    bus = EventBus()
    for domain_type, wire_type in INTEGRATION_TYPES.items():
        for subscription in subscriptions:
            if wire_type in subscription.events:
                bus.subscribe(domain_type, subscription.name, _local_handler(subscription))
    return bus


def publishing_bus(publisher: RabbitPublisher) -> EventBus:
    """Every event published to the broker."""

    async def publish(event: DomainEvent) -> None:
        # Inside the relay's dispatch span (linked to the request's), when tracing is on.
        envelope = to_integration_event(event, current_request_id(), current_traceparent())
        try:
            await publisher.publish(envelope)
        except Exception as exc:
            # The envelope is valid, so a failed publish is the broker's state, not the event's.
            raise RetryLater(f"broker did not confirm: {exc!r}") from exc

    bus = EventBus()
    for domain_type in INTEGRATION_TYPES:
        bus.subscribe(domain_type, PUBLISH_HANDLER, publish)
    return bus


async def build_event_bus(
    settings: Settings, subscriptions: Sequence[Subscription], stack: AsyncExitStack
) -> EventBus:
    """The bus ``APP_EVENT_BUS`` selects; a publisher is closed via ``stack``.

    A broker that is down at startup does not stop orders: the publisher
    connects on first use, and events wait in the outbox until then.
    """
    if settings.event_bus is EventBusMode.LOCAL:
        return local_bus(subscriptions)
    publisher = RabbitPublisher(
        settings.rabbitmq_url.get_secret_value(),
        settings.events_exchange,
        timeout_seconds=settings.publish_timeout_seconds,
    )
    stack.push_async_callback(publisher.aclose)
    try:
        await publisher.start()
    except Exception as exc:
        logger.warning(
            "broker unreachable at startup; events wait in the outbox", extra={"error": repr(exc)}
        )
    return publishing_bus(publisher)
