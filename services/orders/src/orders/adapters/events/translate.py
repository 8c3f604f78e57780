"""Domain events to the versioned integration events other services read."""

from orders.domain.events import DomainEvent, OrderCancelled, OrderPlaced, OrderStatusChanged
from shop_contracts import events as wire

INTEGRATION_TYPES: dict[type[DomainEvent], type[wire.IntegrationEvent]] = {
    OrderPlaced: wire.OrderPlaced,
    OrderCancelled: wire.OrderCancelled,
    OrderStatusChanged: wire.OrderStatusChanged,
}


def to_integration_event(
    event: DomainEvent, request_id: str | None, traceparent: str | None = None
) -> wire.IntegrationEvent:
    """The envelope of ``event``; its id is the domain event's id (consumers dedupe on it)."""
    common = {
        "id": event.event_id,
        "occurred_at": event.occurred_at,
        "request_id": request_id,
        "traceparent": traceparent,
    }
    if isinstance(event, OrderPlaced):
        return wire.OrderPlaced(
            **common,
            payload=wire.OrderPlacedV1(
                order_id=event.order_id,
                user_id=event.user_id,
                customer_email=event.customer_email,
                total=event.total,
                currency=event.currency,
                item_count=event.item_count,
            ),
        )
    if isinstance(event, OrderCancelled):
        return wire.OrderCancelled(
            **common,
            payload=wire.OrderCancelledV1(
                order_id=event.order_id,
                user_id=event.user_id,
                reservation_id=event.reservation_id,
                reason=event.reason,
                refunded=event.refunded,
            ),
        )
    if isinstance(event, OrderStatusChanged):
        return wire.OrderStatusChanged(
            **common,
            payload=wire.OrderStatusChangedV1(
                order_id=event.order_id,
                user_id=event.user_id,
                old_status=event.old_status.value,
                new_status=event.new_status.value,
            ),
        )
    raise TypeError(f"{type(event).__name__} has no integration event")
