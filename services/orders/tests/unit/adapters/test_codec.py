"""Events survive the trip through the outbox's JSON unchanged."""

import typing
from datetime import UTC, datetime
from decimal import Decimal
from uuid import uuid4

import pytest

from orders.adapters.outbox.codec import decode, encode
from orders.domain.events import DomainEvent, OrderCancelled, OrderPlaced, OrderStatusChanged
from orders.domain.status import OrderStatus

NOW = datetime(2026, 1, 1, 12, 30, tzinfo=UTC)


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


def test_unknown_event_types_are_refused() -> None:
    with pytest.raises(KeyError):
        decode("OrderTeleported", "{}")


def test_decode_resolves_no_type_hints_per_row(monkeypatch: pytest.MonkeyPatch) -> None:
    # Resolving a dataclass's hints cost more than the rest of a decode (ADR 0022).
    event = OrderCancelled(
        order_id=uuid4(), user_id="u", occurred_at=NOW, reason="", refunded=False
    )
    payload = encode(event)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("type hints resolved per row")

    monkeypatch.setattr(typing, "get_type_hints", refuse)
    assert decode(*payload) == event
