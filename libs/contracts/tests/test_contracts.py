"""The wire contract: money formatting, error attributes, DTO validation."""

from datetime import UTC, datetime
from decimal import Decimal
from uuid import uuid4

import pytest
from pydantic import ValidationError

from shop_contracts.errors import ErrorCode, InsufficientStock, ProductNotFound, ProductsUnavailable
from shop_contracts.products import Product
from shop_contracts.reservations import ReservationLineRequest, ReservationRequest


def _product(price: str) -> Product:
    now = datetime.now(UTC)
    return Product(
        id=uuid4(), sku="SKU-1", name="Mug", description="", price=Decimal(price),
        currency="EUR", stock_available=3, created_at=now, updated_at=now,
    )  # fmt: skip


@pytest.mark.parametrize(("price", "wire"), [("1.5", "1.50"), ("2", "2.00"), ("19.99", "19.99")])
def test_money_serialises_with_two_places(price: str, wire: str) -> None:
    assert _product(price).model_dump(mode="json")["price"] == wire


def test_money_round_trips_through_json() -> None:
    product = _product("10.10")
    assert Product.model_validate_json(product.model_dump_json()) == product


def test_money_with_three_places_is_rejected() -> None:
    with pytest.raises(ValidationError):
        _product("1.234")


def test_lowercase_currency_is_rejected() -> None:
    with pytest.raises(ValidationError):
        Product.model_validate({**_product("1").model_dump(), "currency": "eur"})


@pytest.mark.parametrize("quantity", [0, -1, 10_001])
def test_reservation_line_quantity_bounds(quantity: int) -> None:
    with pytest.raises(ValidationError):
        ReservationLineRequest(product_id=uuid4(), quantity=quantity)


def test_reservation_request_needs_lines() -> None:
    with pytest.raises(ValidationError):
        ReservationRequest(reservation_key="k", lines=[])


def test_product_errors_expose_sorted_unique_ids() -> None:
    a, b = uuid4(), uuid4()
    error = InsufficientStock([b, a, b])
    assert error.product_ids == sorted({a, b}, key=str)
    assert error.extensions() == {"product_ids": [str(i) for i in error.product_ids]}
    assert error.status == 409
    assert error.code is ErrorCode.INSUFFICIENT_STOCK


def test_not_found_and_unavailable_codes_are_stable() -> None:
    assert ProductNotFound([uuid4()]).code.value == "product_not_found"
    unavailable = ProductsUnavailable("down", retry_after=3)
    assert (unavailable.code.value, unavailable.status, unavailable.retry_after) == (
        "products_unavailable",
        503,
        3,
    )
