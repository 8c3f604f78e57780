"""Explicit mapping between the Order aggregate and its rows (no ORM classes leak out)."""

from collections.abc import Mapping, Sequence
from typing import Any

from orders.domain.order import Order, OrderItem
from orders.domain.status import OrderStatus
from shop_contracts.money import Money


def order_row(order: Order) -> dict[str, Any]:
    """Column values of the ``orders`` row (``version`` is managed by the repository)."""
    total = order.total
    return {
        "id": order.id,
        "user_id": order.user_id,
        "customer_email": order.customer_email,
        "idempotency_key": order.idempotency_key,
        "request_hash": order.request_hash,
        "reservation_id": order.reservation_id,
        "status": order.status.value,
        "currency": total.currency,
        "total_minor": total.cents,
        "payment_id": order.payment_id,
        "cancel_reason": order.cancel_reason,
        "created_at": order.created_at,
        "updated_at": order.updated_at,
    }


def item_rows(order: Order) -> list[dict[str, Any]]:
    """Column values of the ``order_items`` rows, in order."""
    return [
        {
            "order_id": order.id,
            "line_no": line_no,
            "product_id": item.product_id,
            "product_name": item.product_name,
            "quantity": item.quantity,
            "unit_price_minor": item.unit_price.cents,
            "currency": item.unit_price.currency,
        }
        for line_no, item in enumerate(order.items, start=1)
    ]


def to_order(row: Mapping[str, Any], items: Sequence[Mapping[str, Any]]) -> Order:
    """Rebuild the aggregate from its rows (no events: they were recorded when they happened)."""
    return Order(
        id=row["id"],
        user_id=row["user_id"],
        customer_email=row["customer_email"],
        idempotency_key=row["idempotency_key"],
        request_hash=row["request_hash"],
        reservation_id=row["reservation_id"],
        items=[
            OrderItem(
                product_id=item["product_id"],
                product_name=item["product_name"],
                quantity=item["quantity"],
                unit_price=Money.from_cents(item["unit_price_minor"], item["currency"]),
            )
            for item in sorted(items, key=lambda i: int(i["line_no"]))
        ],
        status=OrderStatus(row["status"]),
        payment_id=row["payment_id"],
        cancel_reason=row["cancel_reason"],
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )
