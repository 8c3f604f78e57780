"""Write-side commands: what a caller asks the orders service to do."""

from dataclasses import dataclass
from uuid import UUID

from orders.domain.status import OrderStatus
from shop_contracts.reservations import Line


@dataclass(frozen=True, slots=True)
class PlaceOrder:
    """Buy these lines; the idempotency key makes retries safe."""

    user_id: str
    customer_email: str | None
    idempotency_key: str
    lines: tuple[Line, ...]


@dataclass(frozen=True, slots=True)
class CancelOrder:
    """Cancel the user's order: release its stock and refund it if paid."""

    order_id: UUID
    user_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class PayOrder:
    """Charge the user for their confirmed order."""

    order_id: UUID
    user_id: str


@dataclass(frozen=True, slots=True)
class UpdateOrderStatus:
    """Move an order through fulfilment (staff only)."""

    order_id: UUID
    status: OrderStatus
