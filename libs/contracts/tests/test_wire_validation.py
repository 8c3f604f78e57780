"""Request DTOs accept exactly what the documented JSON Schema allows (found by fuzzing)."""

from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from shop_contracts.products import ProductCreate, ProductUpdate, StockAdjustment
from shop_contracts.reservations import ReservationLineRequest

PRODUCT = "81ae94de-9314-486e-b930-be1d7c3a58ef"


@pytest.mark.parametrize("price", ["", "1e2", "+5", " 5", "1.234", "-1", -1, True, 0.07, 7])
def test_a_price_that_the_schema_refuses_is_refused(price: Any) -> None:
    with pytest.raises(ValidationError):
        ProductCreate.model_validate({"sku": "A-1", "name": "Mug", "price": price})


@pytest.mark.parametrize(("price", "expected"), [("19.99", "19.99"), ("7", "7"), ("0.07", "0.07")])
def test_a_price_that_the_schema_allows_is_accepted(price: Any, expected: str) -> None:
    assert ProductUpdate.model_validate({"price": price}).price == Decimal(expected)


@pytest.mark.parametrize("quantity", [True, "3", 3.5])
def test_a_quantity_must_be_a_json_integer(quantity: Any) -> None:
    with pytest.raises(ValidationError):
        ReservationLineRequest.model_validate({"product_id": PRODUCT, "quantity": quantity})


def test_an_integral_number_is_an_integer_as_json_schema_says() -> None:
    line = ReservationLineRequest.model_validate({"product_id": PRODUCT, "quantity": 3.0})
    assert line.quantity == 3


@pytest.mark.parametrize("field", ["name", "description"])
def test_free_text_cannot_hold_nul(field: str) -> None:
    with pytest.raises(ValidationError):
        ProductUpdate.model_validate({field: "a\x00b"})
    with pytest.raises(ValidationError):
        StockAdjustment.model_validate({"delta": 1, "reason": "a\x00b"})
