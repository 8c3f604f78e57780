"""Ports the application needs from the outside world (product client: product_client.py)."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from orders.domain.events import DomainEvent
from orders.domain.order import Order
from orders.domain.status import OrderStatus
from shop_contracts.money import Money


class OrderRepositoryPort(Protocol):
    """Orders as aggregates; changes become visible when the unit of work commits."""

    async def get_by_id(self, order_id: UUID) -> Order | None:
        """The order with its items, or None."""
        ...

    async def get_with_items(self, order_id: UUID, *, for_update: bool = False) -> Order | None:
        """An order with its items; ``for_update`` locks the row until commit."""
        ...

    async def get_by_idempotency_key(self, user_id: str, idempotency_key: str) -> Order | None:
        """The order a user placed with a key, if any."""
        ...

    async def list_ids_by_status(
        self, status: OrderStatus, *, created_before: datetime, limit: int
    ) -> list[UUID]:
        """Ids of orders in a status created before a moment, oldest first."""
        ...

    async def save(self, order: Order) -> None:
        """Insert a new order or update a loaded one (optimistic version check)."""
        ...


@dataclass(frozen=True, slots=True)
class PaymentReceipt:
    """What the payment provider answered to a charge or refund."""

    payment_id: str
    status: str


class PaymentPort(Protocol):
    """Charges and refunds; both carry an idempotency key so retries never double-charge."""

    async def charge(self, order_id: UUID, amount: Money, idempotency_key: str) -> PaymentReceipt:
        """Take ``amount`` from the customer; ``PaymentFailed`` when refused."""
        ...

    async def refund(self, payment_id: str, amount: Money, idempotency_key: str) -> PaymentReceipt:
        """Give a charge back."""
        ...


class NotificationPort(Protocol):
    """Messages to customers; raise ``NotificationFailed`` to have the relay retry."""

    async def send_email(self, to: str, subject: str, body: str, *, dedupe_key: str) -> None:
        """Send one e-mail; ``dedupe_key`` is stable across retries of the same message."""
        ...

    async def send_sms(self, to: str, body: str, *, dedupe_key: str) -> None:
        """Send one text message."""
        ...


EventHandler = Callable[[DomainEvent], Awaitable[None]]
