"""What orders needs from products' catalogue reads."""

import pytest
from pact import Pact, match

from shop_contracts.errors import ErrorCode, ProductNotFound
from tests.contract.conftest import PACT_GROUP
from tests.contract.consumer import bodies
from tests.contract.consumer.conftest import ClientFor
from tests.contract.states import (
    LAMP,
    MUG,
    PLACEHOLDER_SERVICE_TOKEN,
    PRODUCT_DOES_NOT_EXIST,
    PRODUCT_EXISTS,
    UNKNOWN_PRODUCT,
)

# One worker for every pact test (tests/contract/conftest.py, PACT_GROUP).
pytestmark = pytest.mark.xdist_group(PACT_GROUP)

API = "/api/v1"
BEARER = match.regex(f"Bearer {PLACEHOLDER_SERVICE_TOKEN}", regex=r"^Bearer \S+$")
PROBLEM_JSON = "application/problem+json"


async def test_get_product_returns_the_product(pact: Pact, client_for: ClientFor) -> None:
    (
        pact.upon_receiving("a request for a product")
        .given(PRODUCT_EXISTS, id=str(MUG), stock=10)
        .with_request("GET", f"{API}/products/{MUG}")
        .with_header("Authorization", BEARER)
        .will_respond_with(200)
        .with_body(bodies.product(MUG, stock=10), content_type="application/json")
    )
    async with client_for(pact) as client:
        product = await client.get_product(MUG)

    assert product.id == MUG
    assert product.stock_available == 10


async def test_get_unknown_product_raises_product_not_found(
    pact: Pact, client_for: ClientFor
) -> None:
    (
        pact.upon_receiving("a request for a product that does not exist")
        .given(PRODUCT_DOES_NOT_EXIST, id=str(UNKNOWN_PRODUCT))
        .with_request("GET", f"{API}/products/{UNKNOWN_PRODUCT}")
        .with_header("Authorization", BEARER)
        .will_respond_with(404)
        .with_body(bodies.problem(404, ErrorCode.PRODUCT_NOT_FOUND), content_type=PROBLEM_JSON)
    )
    async with client_for(pact) as client:
        with pytest.raises(ProductNotFound) as raised:
            await client.get_product(UNKNOWN_PRODUCT)

    assert raised.value.product_ids == [UNKNOWN_PRODUCT]


async def test_lookup_returns_found_products_and_lists_missing_ids(
    pact: Pact, client_for: ClientFor
) -> None:
    (
        pact.upon_receiving("a lookup of two products and an unknown id")
        .given(PRODUCT_EXISTS, id=str(MUG), stock=10)
        .given(PRODUCT_EXISTS, id=str(LAMP), stock=4)
        .given(PRODUCT_DOES_NOT_EXIST, id=str(UNKNOWN_PRODUCT))
        .with_request("POST", f"{API}/products/lookup")
        .with_header("Authorization", BEARER)
        .with_body(
            {"ids": [str(MUG), str(LAMP), str(UNKNOWN_PRODUCT)]}, content_type="application/json"
        )
        .will_respond_with(200)
        .with_body(
            {
                "items": [bodies.product(MUG, stock=10), bodies.product(LAMP, stock=4)],
                "missing": [str(UNKNOWN_PRODUCT)],
            },
            content_type="application/json",
        )
    )
    async with client_for(pact) as client:
        lookup = await client.lookup_products([MUG, LAMP, UNKNOWN_PRODUCT])

    assert [p.id for p in lookup.items] == [MUG, LAMP]
    assert lookup.missing == [UNKNOWN_PRODUCT]


@pytest.mark.parametrize(("quantity", "available"), [(3, True), (11, False)])
async def test_stock_check_says_whether_the_quantity_is_available(
    pact: Pact, client_for: ClientFor, quantity: int, available: bool
) -> None:
    (
        pact.upon_receiving(f"a stock check for {quantity} of 10 units")
        .given(PRODUCT_EXISTS, id=str(MUG), stock=10)
        .with_request("GET", f"{API}/products/{MUG}/stock")
        .with_query_parameter("quantity", str(quantity))
        .with_header("Authorization", BEARER)
        .will_respond_with(200)
        .with_body(
            {
                "product_id": str(MUG),
                "requested": quantity,
                "stock_available": match.int(10, min=0),
                "available": available,
            },
            content_type="application/json",
        )
    )
    async with client_for(pact) as client:
        check = await client.check_stock(MUG, quantity)

    assert check.requested == quantity
    assert check.available is available


async def test_stock_check_of_unknown_product_raises_product_not_found(
    pact: Pact, client_for: ClientFor
) -> None:
    (
        pact.upon_receiving("a stock check for a product that does not exist")
        .given(PRODUCT_DOES_NOT_EXIST, id=str(UNKNOWN_PRODUCT))
        .with_request("GET", f"{API}/products/{UNKNOWN_PRODUCT}/stock")
        .with_query_parameter("quantity", "1")
        .with_header("Authorization", BEARER)
        .will_respond_with(404)
        .with_body(bodies.problem(404, ErrorCode.PRODUCT_NOT_FOUND), content_type=PROBLEM_JSON)
    )
    async with client_for(pact) as client:
        with pytest.raises(ProductNotFound):
            await client.check_stock(UNKNOWN_PRODUCT, 1)
