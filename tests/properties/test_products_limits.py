"""The products API at, just under and just past its limits, on a real process and PostgreSQL.

Never a 5xx; every answer is the one the limits predict; what was accepted reads back.
"""

from decimal import Decimal
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from servicekit.settings import Environment, ServiceSettings
from shop_contracts import paths
from shop_contracts.limits import (
    MAX_DESCRIPTION_LENGTH,
    MAX_KEY_LENGTH,
    MAX_LINE_QUANTITY,
    MAX_NAME_LENGTH,
    MAX_SKU_LENGTH,
    MAX_STOCK,
)
from tests.properties.conftest import Products
from tests.properties.profiles import PROFILE

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def _around(limit: int) -> st.SearchStrategy[int]:
    return st.sampled_from([limit - 1, limit, limit + 1])


stock_levels = st.one_of(
    st.sampled_from([0, 1, MAX_STOCK - 1, MAX_STOCK]), st.integers(0, MAX_STOCK)
)
deltas = st.one_of(
    st.sampled_from([-MAX_STOCK - 1, -MAX_STOCK, -1, 0, 1, MAX_STOCK, MAX_STOCK + 1]),
    st.integers(-MAX_STOCK - 1, MAX_STOCK + 1),
)


@PROFILE
@given(start=stock_levels, changes=st.lists(deltas, min_size=1, max_size=4))
def test_stock_adjustments_stay_within_zero_and_the_stock_limit(
    products: Products, start: int, changes: list[int]
) -> None:
    product_id = products.add(price=Decimal("1.00"), stock=start)
    url = paths.PRODUCT_STOCK_ADJUSTMENTS.format(product_id=product_id)
    stock = start

    for delta in changes:
        response = products.http.post(url, json={"delta": delta}, headers=products.admin)
        if abs(delta) > MAX_STOCK:
            expected: tuple[int, str | None] = (422, "validation_error")
        elif stock + delta < 0:
            expected = (409, "insufficient_stock")
        elif stock + delta > MAX_STOCK:
            expected = (409, "stock_limit_exceeded")
        else:
            expected = (200, None)
            stock += delta
        assert (response.status_code, response.json().get("code")) == expected, response.text

    assert products.stock(product_id) == stock


@PROFILE
@given(
    sku_length=_around(MAX_SKU_LENGTH),
    name_length=_around(MAX_NAME_LENGTH),
    description_length=_around(MAX_DESCRIPTION_LENGTH),
    stock=_around(MAX_STOCK),
    price=st.sampled_from(["9999999999.99", "10000000000.00", "0.00", "-0.01"]),
)
def test_a_product_at_its_limits_is_created_and_read_back_and_past_them_refused(
    products: Products,
    sku_length: int,
    name_length: int,
    description_length: int,
    stock: int,
    price: str,
) -> None:
    sku = (uuid4().hex * 3)[:sku_length]
    body = {
        "sku": sku,
        "name": "n" * name_length,
        "description": "d" * description_length,
        "price": price,
        "stock": stock,
    }
    fits = (
        sku_length <= MAX_SKU_LENGTH
        and name_length <= MAX_NAME_LENGTH
        and description_length <= MAX_DESCRIPTION_LENGTH
        and stock <= MAX_STOCK
        and price in ("9999999999.99", "0.00")
    )

    created = products.http.post(paths.PRODUCTS, json=body, headers=products.admin)

    if not fits:
        assert (created.status_code, created.json()["code"]) == (422, "validation_error")
        return
    assert created.status_code == 201, created.text
    read = products.http.get(paths.PRODUCT.format(product_id=created.json()["id"]))
    assert read.status_code == 200
    assert {key: read.json()[key] for key in ("sku", "name", "description", "price")} == {
        "sku": sku,
        "name": body["name"],
        "description": body["description"],
        "price": price,
    }
    assert read.json()["stock_available"] == stock


@PROFILE
@given(
    key_length=_around(MAX_KEY_LENGTH),
    quantity=st.sampled_from([0, 1, MAX_LINE_QUANTITY, MAX_LINE_QUANTITY + 1]),
)
def test_a_reservation_at_its_limits_is_held_and_released_and_past_them_refused(
    products: Products, key_length: int, quantity: int
) -> None:
    service = {
        "Authorization": f"Bearer {ServiceSettings(environment=Environment.TESTING).service_token.get_secret_value()}"
    }
    product_id = products.add(price=Decimal("1.00"), stock=MAX_LINE_QUANTITY)
    body = {
        "reservation_key": (uuid4().hex * 7)[:key_length],
        "lines": [{"product_id": product_id, "quantity": quantity}],
    }

    held = products.http.post(paths.RESERVATIONS, json=body, headers=service)

    if key_length > MAX_KEY_LENGTH or not 1 <= quantity <= MAX_LINE_QUANTITY:
        assert (held.status_code, held.json()["code"]) == (422, "validation_error")
    else:
        assert held.status_code == 201, held.text
        released = products.http.post(
            paths.RESERVATION_RELEASE.format(reservation_id=held.json()["id"]), headers=service
        )
        assert released.status_code == 200, released.text
    assert products.stock(product_id) == MAX_LINE_QUANTITY
