"""The Order aggregate and its state machine."""

from datetime import UTC, datetime
from decimal import Decimal
from uuid import uuid4

import pytest

from orders.domain.errors import InvalidOrder, InvalidStatusTransition, MixedCurrencies
from orders.domain.events import OrderCancelled, OrderPlaced, OrderStatusChanged
from orders.domain.order import (
    Order,
    OrderItem,
    request_hash,
    reservation_key,
)
from orders.domain.status import OrderStatus, can_transition
from shop_contracts.money import Money
from shop_contracts.reservations import Line, merged_lines

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _item(price: str = "2.50", qty: int = 2, currency: str = "EUR") -> OrderItem:
    return OrderItem(uuid4(), "Mug", qty, Money(Decimal(price), currency))


def _order(*items: OrderItem) -> Order:
    return Order.place(
        user_id="alice",
        customer_email="alice@example.com",
        idempotency_key="k",
        request_hash="h",
        reservation_id=uuid4(),
        items=list(items or [_item()]),
        now=NOW,
    )


def test_placing_records_order_placed_with_the_total() -> None:
    order = _order(_item("2.50", 2), _item("0.99", 1))

    assert order.status is OrderStatus.PENDING
    assert order.total == Money(Decimal("5.99"), "EUR")
    [event] = order.events
    assert isinstance(event, OrderPlaced)
    assert (event.total, event.item_count, event.order_id) == (Decimal("5.99"), 2, order.id)


def test_an_order_needs_items_in_one_currency() -> None:
    with pytest.raises(MixedCurrencies) as raised:
        _order(_item(currency="USD"), _item(currency="EUR"))
    assert (raised.value.code, raised.value.currencies) == ("mixed_currencies", ["EUR", "USD"])
    with pytest.raises(InvalidOrder):
        Order.place(
            user_id="a",
            customer_email=None,
            idempotency_key="k",
            request_hash="h",
            reservation_id=uuid4(),
            items=[],
            now=NOW,
        )


@pytest.mark.parametrize(
    ("current", "allowed"),
    [
        (OrderStatus.PENDING, {OrderStatus.CONFIRMED, OrderStatus.CANCELLED, OrderStatus.FAILED}),
        (OrderStatus.CONFIRMED, {OrderStatus.PAID, OrderStatus.CANCELLED}),
        (OrderStatus.PAID, {OrderStatus.SHIPPED, OrderStatus.CANCELLED}),
        (OrderStatus.SHIPPED, {OrderStatus.DELIVERED}),
        (OrderStatus.DELIVERED, set()),
        (OrderStatus.CANCELLED, set()),
        (OrderStatus.FAILED, set()),
    ],
)
def test_state_machine_allows_exactly_the_documented_steps(
    current: OrderStatus, allowed: set[OrderStatus]
) -> None:
    assert {target for target in OrderStatus if can_transition(current, target)} == allowed


def test_happy_path_emits_a_status_change_per_step() -> None:
    order = _order()
    order.confirm(NOW)
    order.mark_paid("pay_1", NOW)
    order.advance(OrderStatus.SHIPPED, NOW)
    order.advance(OrderStatus.DELIVERED, NOW)

    changes = [
        (e.old_status, e.new_status) for e in order.events if isinstance(e, OrderStatusChanged)
    ]
    assert changes == [
        (OrderStatus.PENDING, OrderStatus.CONFIRMED),
        (OrderStatus.CONFIRMED, OrderStatus.PAID),
        (OrderStatus.PAID, OrderStatus.SHIPPED),
        (OrderStatus.SHIPPED, OrderStatus.DELIVERED),
    ]
    assert order.payment_id == "pay_1"


def test_cancel_records_reason_and_event_and_cannot_repeat() -> None:
    order = _order()
    order.cancel("too slow", NOW, refunded=False)

    assert order.status is OrderStatus.CANCELLED
    assert isinstance(order.events[-1], OrderCancelled)
    with pytest.raises(InvalidStatusTransition):
        order.cancel("again", NOW, refunded=False)


def test_illegal_steps_raise_and_change_nothing() -> None:
    order = _order()
    with pytest.raises(InvalidStatusTransition):
        order.advance(OrderStatus.SHIPPED, NOW)
    with pytest.raises(InvalidStatusTransition):
        order.mark_paid("pay_1", NOW)
    assert (order.status, order.payment_id, len(order.events)) == (OrderStatus.PENDING, None, 1)


def test_equal_carts_hash_equal_whatever_the_line_order_or_split() -> None:
    a, b = uuid4(), uuid4()

    assert request_hash([Line(a, 1), Line(b, 2), Line(a, 1)]) == request_hash(
        [Line(b, 2), Line(a, 2)]
    )
    assert request_hash([Line(a, 1)]) != request_hash([Line(a, 2)])
    assert merged_lines([Line(a, 1), Line(a, 4)]) == (Line(a, 5),)


def test_reservation_keys_are_per_user_and_bounded() -> None:
    assert reservation_key("alice", "k") != reservation_key("bob", "k")
    assert reservation_key("alice", "k") == "order:alice:k"
    long_key = reservation_key("u" * 150, "k" * 100)
    assert len(long_key) <= 200
    assert long_key != reservation_key("u" * 150, "k" * 99 + "x")
