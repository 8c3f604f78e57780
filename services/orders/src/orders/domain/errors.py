"""Errors the order domain raises; each carries its stable problem code."""

from uuid import UUID

from orders.domain.status import OrderStatus
from shop_contracts.errors import DomainError, ErrorCode, MixedCurrencies, OrderTotalTooLarge

# Products refuses a hold on the same conditions, so the very same classes serve both.
__all__ = [
    "ConcurrentModification",
    "DuplicateOrder",
    "InvalidOrder",
    "InvalidStatusTransition",
    "MixedCurrencies",
    "NotificationFailed",
    "OrderNotFound",
    "OrderTotalTooLarge",
    "PaymentFailed",
    "PaymentProviderUnavailable",
]


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
    """The order request breaks a business rule (no lines, too many lines or units)."""

    code = ErrorCode.VALIDATION_ERROR
    status = 422
    title = "Invalid order"


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
