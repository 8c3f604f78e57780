"""The Order aggregate and its items (ADR 0026)."""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from uuid import UUID, uuid4

from orders.domain.errors import (
    InvalidOrder,
    InvalidStatusTransition,
    MixedCurrencies,
    OrderTotalTooLarge,
)
from orders.domain.events import DomainEvent, OrderCancelled, OrderPlaced, OrderStatusChanged
from orders.domain.status import OrderStatus, can_transition
from shop_contracts.limits import MAX_KEY_LENGTH, MAX_LINE_QUANTITY, MAX_ORDER_TOTAL
from shop_contracts.money import CurrencyMismatch, Money
from shop_contracts.reservations import Line, lines_fingerprint, merged_lines


@dataclass(frozen=True, slots=True)
class OrderItem:
    """A bought line with the name and unit price at the time of the hold."""

    product_id: UUID
    product_name: str
    quantity: int
    unit_price: Money

    @property
    def line_total(self) -> Money:
        """Unit price times quantity."""
        return self.unit_price.times(self.quantity)


def checked_cart(lines: Iterable[Line], max_items: int) -> tuple[Line, ...]:
    """The merged cart; ``InvalidOrder`` if it is empty or passes a line limit."""
    cart = merged_lines(lines)
    if not cart:
        raise InvalidOrder("An order needs at least one item")
    if len(cart) > max_items:
        raise InvalidOrder(f"An order may have at most {max_items} distinct products")
    if any(line.quantity > MAX_LINE_QUANTITY for line in cart):
        # Lines of one product are merged; the sum must still be one valid line.
        raise InvalidOrder(f"An order may hold at most {MAX_LINE_QUANTITY} units of a product")
    return cart


def check_order_total(total: Decimal) -> None:
    """``OrderTotalTooLarge`` unless ``total`` is within the order total limit.

    Prices and quantities are each within their limits, but their product summed
    over the lines is not; checked before an order is saved (and on a quote).
    """
    if total > MAX_ORDER_TOTAL:
        raise OrderTotalTooLarge(total)


request_hash = lines_fingerprint
"""Fingerprint of a normalised cart, stored with the idempotency key."""


def reservation_key(user_id: str, idempotency_key: str) -> str:
    """Per-user reservation key, so two users' idempotency keys never collide."""
    key = f"order:{user_id}:{idempotency_key}"
    if len(key) <= MAX_KEY_LENGTH:
        return key
    digest = hashlib.sha256(f"{user_id}\0{idempotency_key}".encode()).hexdigest()
    return f"order:sha256:{digest}"


@dataclass(kw_only=True)
class Order:
    """A customer's order; every status change goes through its methods."""

    id: UUID
    user_id: str
    customer_email: str | None
    idempotency_key: str
    request_hash: str
    reservation_id: UUID
    items: list[OrderItem]
    status: OrderStatus
    created_at: datetime
    updated_at: datetime
    payment_id: str | None = None
    cancel_reason: str | None = None
    version: int = 0
    events: list[DomainEvent] = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def place(
        cls,
        *,
        user_id: str,
        customer_email: str | None,
        idempotency_key: str,
        request_hash: str,
        reservation_id: UUID,
        items: list[OrderItem],
        now: datetime,
    ) -> "Order":
        """A new pending order over held stock; records ``OrderPlaced``."""
        if not items:
            raise InvalidOrder("An order needs at least one item")
        order = cls(
            id=uuid4(),
            user_id=user_id,
            customer_email=customer_email,
            idempotency_key=idempotency_key,
            request_hash=request_hash,
            reservation_id=reservation_id,
            items=list(items),
            status=OrderStatus.PENDING,
            created_at=now,
            updated_at=now,
        )
        total = order.total
        check_order_total(total.amount)
        order.events.append(
            OrderPlaced(
                order_id=order.id,
                user_id=user_id,
                occurred_at=now,
                customer_email=customer_email,
                total=total.amount,
                currency=total.currency,
                item_count=len(items),
            )
        )
        return order

    @property
    def currency(self) -> str:
        """The one currency of every item."""
        return self.items[0].unit_price.currency

    @property
    def total(self) -> Money:
        """Sum of the line totals; all items share one currency."""
        total = Money.zero(self.currency)
        try:
            for item in self.items:
                total = total + item.line_total
        except CurrencyMismatch as exc:
            raise MixedCurrencies(item.unit_price.currency for item in self.items) from exc
        return total

    def confirm(self, now: datetime) -> None:
        """The stock hold became permanent."""
        self._move(OrderStatus.CONFIRMED, now)

    def fail(self, now: datetime) -> None:
        """The hold lapsed or was released before it could be confirmed."""
        self._move(OrderStatus.FAILED, now)

    def mark_paid(self, payment_id: str, now: datetime) -> None:
        """The customer was charged."""
        self._check(OrderStatus.PAID)
        self.payment_id = payment_id
        self._move(OrderStatus.PAID, now)

    def advance(self, target: OrderStatus, now: datetime) -> None:
        """A fulfilment step (shipped, delivered) set by staff."""
        self._move(target, now)

    def ensure_can(self, target: OrderStatus) -> None:
        """Raise before any side effect (release, charge) if ``target`` is not reachable now."""
        self._check(target)

    def cancel(self, reason: str, now: datetime, *, refunded: bool) -> None:
        """Cancel; the caller has already released the stock (and refunded)."""
        self._check(OrderStatus.CANCELLED)
        self.cancel_reason = reason
        self._move(OrderStatus.CANCELLED, now)
        self.events.append(
            OrderCancelled(
                order_id=self.id,
                user_id=self.user_id,
                occurred_at=now,
                reason=reason,
                refunded=refunded,
                reservation_id=self.reservation_id,
            )
        )

    def _check(self, target: OrderStatus) -> None:
        if not can_transition(self.status, target):
            raise InvalidStatusTransition(self.status, target)

    def _move(self, target: OrderStatus, now: datetime) -> None:
        self._check(target)
        old, self.status, self.updated_at = self.status, target, now
        self.events.append(
            OrderStatusChanged(
                order_id=self.id,
                user_id=self.user_id,
                occurred_at=now,
                old_status=old,
                new_status=target,
            )
        )
