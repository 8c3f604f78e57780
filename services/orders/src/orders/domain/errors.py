"""Errors the order domain raises; each carries its stable problem code."""

from typing import Any
from uuid import UUID

from orders.domain.status import OrderStatus
from shop_contracts.errors import DomainError, ErrorCode


class OrderNotFound(DomainError):
    """No order with that id (or not one the caller may see)."""

    code = ErrorCode.ORDER_NOT_FOUND
    status = 404
    title = "Order not found"

    def __init__(self, order_id: UUID) -> None:
        self.order_id = order_id
        super().__init__(f"Order {order_id} does not exist")


class InvalidStatusTransition(DomainError):
    """The requested status change is not allowed from the current status."""

    code = ErrorCode.INVALID_STATUS_TRANSITION
    status = 409
    title = "Invalid status transition"

    def __init__(self, current: OrderStatus, target: OrderStatus) -> None:
        self.current = current
        self.target = target
        super().__init__(f"An order cannot go from {current} to {target}")


class InvalidOrder(DomainError):
    """The order request breaks a business rule (too many lines, mixed currencies...)."""

    code = ErrorCode.VALIDATION_ERROR
    status = 422
    title = "Invalid order"


class OrderTotalTooLarge(DomainError):
    """A line total or the order total would pass the order total limit."""

    code = ErrorCode.ORDER_TOTAL_TOO_LARGE
    status = 422
    title = "Order total too large"


class MixedCurrencies(DomainError):
    """A figure was asked for over amounts in several currencies; name one."""

    code = ErrorCode.MIXED_CURRENCIES
    status = 422
    title = "Amounts in several currencies"

    def __init__(self, currencies: list[str]) -> None:
        self.currencies = sorted(currencies)
        super().__init__(
            f"The orders are in {', '.join(self.currencies)}; "
            "ask for one with the currency parameter"
        )

    def extensions(self) -> dict[str, Any]:
        return {"currencies": self.currencies}


class PaymentFailed(DomainError):
    """The payment provider refused the charge or the refund."""

    code = ErrorCode.PAYMENT_FAILED
    status = 402
    title = "Payment failed"


class PaymentProviderUnavailable(DomainError):
    """The payment provider could not be reached; retrying later may succeed."""

    code = ErrorCode.SERVICE_UNAVAILABLE
    status = 503
    title = "Payment provider unavailable"


class NotificationFailed(Exception):
    """A message could not be handed to the provider (the outbox relay retries)."""


class ConcurrentModification(Exception):
    """Someone else changed the order since it was loaded; retry with fresh state."""


class DuplicateOrder(Exception):
    """An order for this user and idempotency key already exists."""
