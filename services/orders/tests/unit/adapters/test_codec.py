"""Events survive the trip through the outbox's JSON unchanged, in the format rows already hold."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from uuid import UUID, uuid4

import pytest

from orders.adapters.outbox.codec import decode, encode
from orders.domain.events import DomainEvent, OrderCancelled, OrderPlaced, OrderStatusChanged
from orders.domain.status import OrderStatus

NOW = datetime(2026, 1, 1, 12, 30, tzinfo=UTC)
AT = datetime(2026, 1, 1, 12, 30, 5, 123456, tzinfo=UTC)
ORDER = UUID(int=1)


@pytest.mark.parametrize(
    "event",
    [
        OrderPlaced(
            order_id=uuid4(),
            user_id="u",
            occurred_at=NOW,
            customer_email=None,
            total=Decimal("10.05"),
            currency="EUR",
            item_count=1,
        ),
        OrderCancelled(order_id=uuid4(), user_id="u", occurred_at=NOW, reason="x", refunded=True),
        OrderStatusChanged(
            order_id=uuid4(),
            user_id="u",
            occurred_at=NOW,
            old_status=OrderStatus.PAID,
            new_status=OrderStatus.SHIPPED,
        ),
    ],
)
def test_round_trip_preserves_every_field_and_type(event: DomainEvent) -> None:
    assert decode(*encode(event)) == event


# Rows as the outbox already stores them (captured from the codec before it moved to
# servicekit): every event type encodes to exactly these bytes and decodes from them.
STORED = [
    (
        OrderPlaced(
            order_id=ORDER,
            user_id="u-1",
            occurred_at=AT,
            customer_email="zoë@example.com",
            total=Decimal("10.50"),
            currency="EUR",
            item_count=2,
            event_id=UUID(int=2),
        ),
        "OrderPlaced",
        '{"currency": "EUR", "customer_email": "zo\\u00eb@example.com",'
        ' "event_id": "00000000-0000-0000-0000-000000000002", "item_count": 2,'
        ' "occurred_at": "2026-01-01T12:30:05.123456+00:00",'
        ' "order_id": "00000000-0000-0000-0000-000000000001", "total": "10.50",'
        ' "user_id": "u-1"}',
    ),
    (
        OrderPlaced(
            order_id=ORDER,
            user_id="u-1",
            occurred_at=datetime(2026, 1, 1, 14, 0, tzinfo=timezone(timedelta(hours=2))),
            customer_email=None,
            total=Decimal("0"),
            currency="EUR",
            item_count=1,
            event_id=UUID(int=3),
        ),
        "OrderPlaced",
        '{"currency": "EUR", "customer_email": null,'
        ' "event_id": "00000000-0000-0000-0000-000000000003", "item_count": 1,'
        ' "occurred_at": "2026-01-01T14:00:00+02:00",'
        ' "order_id": "00000000-0000-0000-0000-000000000001", "total": "0",'
        ' "user_id": "u-1"}',
    ),
    (
        OrderCancelled(
            order_id=ORDER,
            user_id="u-1",
            occurred_at=AT,
            reason="out of stock",
            refunded=True,
            reservation_id=UUID(int=4),
            event_id=UUID(int=5),
        ),
        "OrderCancelled",
        '{"event_id": "00000000-0000-0000-0000-000000000005",'
        ' "occurred_at": "2026-01-01T12:30:05.123456+00:00",'
        ' "order_id": "00000000-0000-0000-0000-000000000001", "reason": "out of stock",'
        ' "refunded": true, "reservation_id": "00000000-0000-0000-0000-000000000004",'
        ' "user_id": "u-1"}',
    ),
    (
        OrderCancelled(
            order_id=ORDER,
            user_id="u-1",
            occurred_at=AT,
            reason="",
            refunded=False,
            event_id=UUID(int=6),
        ),
        "OrderCancelled",
        '{"event_id": "00000000-0000-0000-0000-000000000006",'
        ' "occurred_at": "2026-01-01T12:30:05.123456+00:00",'
        ' "order_id": "00000000-0000-0000-0000-000000000001", "reason": "",'
        ' "refunded": false, "reservation_id": null, "user_id": "u-1"}',
    ),
    (
        OrderStatusChanged(
            order_id=ORDER,
            user_id="u-1",
            occurred_at=AT,
            old_status=OrderStatus.PAID,
            new_status=OrderStatus.SHIPPED,
            event_id=UUID(int=7),
        ),
        "OrderStatusChanged",
        '{"event_id": "00000000-0000-0000-0000-000000000007", "new_status": "shipped",'
        ' "occurred_at": "2026-01-01T12:30:05.123456+00:00", "old_status": "paid",'
        ' "order_id": "00000000-0000-0000-0000-000000000001", "user_id": "u-1"}',
    ),
]


@pytest.mark.parametrize(("event", "event_type", "payload"), STORED)
def test_stored_rows_keep_their_exact_format(
    event: DomainEvent, event_type: str, payload: str
) -> None:
    assert encode(event) == (event_type, payload)
    assert decode(event_type, payload) == event


def test_a_cancellation_stored_before_it_carried_its_hold_still_decodes() -> None:
    payload = (
        '{"event_id": "00000000-0000-0000-0000-000000000006",'
        ' "occurred_at": "2026-01-01T12:30:05.123456+00:00",'
        ' "order_id": "00000000-0000-0000-0000-000000000001", "reason": "",'
        ' "refunded": false, "user_id": "u-1"}'
    )
    assert decode("OrderCancelled", payload) == OrderCancelled(
        order_id=ORDER,
        user_id="u-1",
        occurred_at=AT,
        reason="",
        refunded=False,
        reservation_id=None,
        event_id=UUID(int=6),
    )


def test_unknown_event_types_are_refused() -> None:
    with pytest.raises(KeyError):
        decode("OrderTeleported", "{}")
