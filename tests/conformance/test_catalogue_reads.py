"""Catalogue reads answer identically through every product client."""

from uuid import UUID

import pytest

from orders.domain.product_client import ProductServiceClient
from shop_contracts.errors import ProductNotFound
from tests.conformance.conftest import Catalogue

pytestmark = pytest.mark.postgres


async def test_get_product_returns_the_catalogue_entry(
    client: ProductServiceClient, catalogue: Catalogue
) -> None:
    product = await catalogue.add(stock=7, price="3.10")
    fetched = await client.get_product(product.id)
    assert fetched == product
    assert str(fetched.price) == "3.10"


async def test_get_unknown_product_raises_product_not_found(
    client: ProductServiceClient, missing_id: UUID
) -> None:
    with pytest.raises(ProductNotFound) as raised:
        await client.get_product(missing_id)
    assert raised.value.product_ids == [missing_id]


async def test_lookup_keeps_request_order_collapses_duplicates_and_lists_missing(
    client: ProductServiceClient, catalogue: Catalogue, missing_id: UUID
) -> None:
    first, second = await catalogue.add(), await catalogue.add()
    lookup = await client.lookup_products([second.id, missing_id, first.id, second.id])
    assert [p.id for p in lookup.items] == [second.id, first.id]
    assert lookup.items == [second, first]
    assert lookup.missing == [missing_id]


@pytest.mark.parametrize(("quantity", "available"), [(1, True), (5, True), (6, False)])
async def test_check_stock_compares_against_available_units(
    client: ProductServiceClient, catalogue: Catalogue, quantity: int, available: bool
) -> None:
    product = await catalogue.add(stock=5)
    check = await client.check_stock(product.id, quantity)
    assert (check.product_id, check.requested, check.stock_available, check.available) == (
        product.id,
        quantity,
        5,
        available,
    )


async def test_check_stock_of_unknown_product_raises_product_not_found(
    client: ProductServiceClient, missing_id: UUID
) -> None:
    with pytest.raises(ProductNotFound) as raised:
        await client.check_stock(missing_id, 1)
    assert raised.value.product_ids == [missing_id]
