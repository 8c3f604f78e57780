"""Domain events: facts about orders, recorded in the outbox with the change."""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from uuid import UUID, uuid4

from orders.domain.status import OrderStatus


@dataclass(frozen=True, kw_only=True)
class DomainEvent:
    """Base of every event; ``event_id`` makes handling idempotent downstream."""

    order_id: UUID
    user_id: str
    occurred_at: datetime
    event_id: UUID = field(default_factory=uuid4)


@dataclass(frozen=True, kw_only=True)
class OrderPlaced(DomainEvent):
    """An order was accepted with its stock held."""

    customer_email: str | None
    total: Decimal
    currency: str
    item_count: int


@dataclass(frozen=True, kw_only=True)
class OrderCancelled(DomainEvent):
    """An order was cancelled; its stock went back and any payment was refunded."""

    reason: str
    refunded: bool
    # The hold to release; None only on events recorded before it was carried.
    reservation_id: UUID | None = None


@dataclass(frozen=True, kw_only=True)
class OrderStatusChanged(DomainEvent):
    """An order moved from one status to another."""

    old_status: OrderStatus
    new_status: OrderStatus
