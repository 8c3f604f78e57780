"""Pact response bodies: exact where orders relies on the value, type matchers elsewhere."""

from typing import Any
from uuid import UUID

from pact import match

from shop_contracts.errors import ErrorCode

_TIMESTAMP = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"
_MONEY = r"^\d+\.\d{2}$"
_CURRENCY = r"^[A-Z]{3}$"
_ANY_RESERVATION_ID = "0c7f2d9a-1e3b-4a5c-8d6e-7f8091a2b3c4"


def timestamp() -> Any:
    """An ISO 8601 timestamp with a UTC offset."""
    return match.regex("2026-01-02T03:04:05.678901Z", regex=_TIMESTAMP)


def money(example: str = "12.50") -> Any:
    """A decimal string with two places."""
    return match.regex(example, regex=_MONEY)


def currency() -> Any:
    """An ISO 4217 code."""
    return match.regex("EUR", regex=_CURRENCY)


def product(product_id: UUID, *, stock: int = 10) -> dict[str, Any]:
    """Every field of ``shop_contracts.products.Product`` (orders parses the whole model)."""
    return {
        "id": str(product_id),
        "sku": match.str("PACT-MUG"),
        "name": match.str("Pact mug"),
        "description": match.str("A mug"),
        "price": money(),
        "currency": currency(),
        "stock_available": match.int(stock, min=0),
        "created_at": timestamp(),
        "updated_at": timestamp(),
    }


def reservation(
    *, status: str, product_id: UUID, quantity: int, reservation_id: UUID | None = None
) -> dict[str, Any]:
    """A ``Reservation`` with one line; the id is exact only when a provider state fixes it."""
    return {
        "id": str(reservation_id) if reservation_id else match.uuid(_ANY_RESERVATION_ID),
        "key": match.str("order-key"),
        "status": status,
        "expires_at": timestamp(),
        "created_at": timestamp(),
        "lines": [
            {
                "product_id": str(product_id),
                "quantity": quantity,
                "product_name": match.str("Pact mug"),
                "unit_price": money(),
                "currency": currency(),
            }
        ],
    }


def retired_key(key: str) -> dict[str, Any]:
    """The released ``Reservation`` without lines that a release by an unknown key records."""
    return {
        "id": match.uuid(_ANY_RESERVATION_ID),
        "key": key,
        "status": "released",
        "expires_at": timestamp(),
        "created_at": timestamp(),
        "lines": [],
    }


def problem(status: int, code: ErrorCode, **extensions: Any) -> dict[str, Any]:
    """The problem+json members ``HttpProductClient`` reads: ``code`` decides the exception."""
    return {"title": match.str("Problem title"), "status": status, "code": code.value, **extensions}
