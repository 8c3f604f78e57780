"""The order lifecycle as a state machine."""

from enum import StrEnum


class OrderStatus(StrEnum):
    """Where an order is in its life. A closed set: a new status comes only with a new
    API version, never added to this one (ADR 0006), so a generated client may treat
    it as an exhaustive enum."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    PAID = "paid"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    FAILED = "failed"


_ALLOWED: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PENDING: frozenset(
        {OrderStatus.CONFIRMED, OrderStatus.CANCELLED, OrderStatus.FAILED}
    ),
    OrderStatus.CONFIRMED: frozenset({OrderStatus.PAID, OrderStatus.CANCELLED}),
    OrderStatus.PAID: frozenset({OrderStatus.SHIPPED, OrderStatus.CANCELLED}),
    OrderStatus.SHIPPED: frozenset({OrderStatus.DELIVERED}),
    OrderStatus.DELIVERED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
    OrderStatus.FAILED: frozenset(),
}

FULFILMENT_STATUSES = frozenset({OrderStatus.SHIPPED, OrderStatus.DELIVERED})
"""The steps an admin moves an order through by hand; the rest have side effects."""


def can_transition(current: OrderStatus, target: OrderStatus) -> bool:
    """Whether ``current → target`` is a legal step."""
    return target in _ALLOWED[current]
