"""Catalogue reads through the facade."""

from uuid import uuid4

import pytest

from products.domain.errors import InvalidInput
from products.facade import ProductsFacade
from products.testing import Catalogue
from shop_contracts.errors import ProductNotFound


async def test_get_product_returns_the_catalogue_entry(
    facade: ProductsFacade, catalogue: Catalogue
) -> None:
    product = await catalogue.add(stock=4, price="3.10")

    assert await facade.get_product(product.id) == product


async def test_get_unknown_product_names_it(facade: ProductsFacade) -> None:
    missing = uuid4()

    with pytest.raises(ProductNotFound) as caught:
        await facade.get_product(missing)

    assert caught.value.product_ids == [missing]


async def test_lookup_keeps_request_order_collapses_duplicates_and_lists_missing(
    facade: ProductsFacade, catalogue: Catalogue
) -> None:
    first, second = await catalogue.add(), await catalogue.add()
    unknown = uuid4()

    lookup = await facade.lookup_products([second.id, unknown, first.id, second.id, unknown])

    assert [p.id for p in lookup.items] == [second.id, first.id]
    assert lookup.missing == [unknown]


async def test_check_stock_reports_availability_without_holding(
    facade: ProductsFacade, catalogue: Catalogue
) -> None:
    product = await catalogue.add(stock=3)

    enough = await facade.check_stock(product.id, 3)
    too_many = await facade.check_stock(product.id, 4)

    assert (enough.available, enough.stock_available, enough.requested) == (True, 3, 3)
    assert (too_many.available, too_many.requested) == (False, 4)
    assert await catalogue.stock(product) == 3


async def test_check_stock_of_unknown_product_raises(facade: ProductsFacade) -> None:
    with pytest.raises(ProductNotFound):
        await facade.check_stock(uuid4(), 1)


async def test_ping_reports_the_backend(facade: ProductsFacade) -> None:
    assert (await facade.ping())["backend"] in {"sqlite", "postgresql"}


async def test_search_pages_the_matching_entries_by_sku(
    facade: ProductsFacade, catalogue: Catalogue
) -> None:
    token = uuid4().hex
    added = [await catalogue.add(name=f"Lamp {token} {n}", price=f"{n}.05") for n in range(3)]
    by_sku = sorted(added, key=lambda p: p.sku)

    first = await facade.list_products(token.upper(), 1, 2)
    last = await facade.list_products(token, 2, 2)

    assert (first.items, first.total, first.page, first.page_size) == (by_sku[:2], 3, 1, 2)
    assert (last.items, last.total, last.page) == (by_sku[2:], 3, 2)


async def test_a_search_the_database_rejects_is_invalid_input(
    facade: ProductsFacade, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL refuses NUL in text; SQLite stores it")

    with pytest.raises(InvalidInput):
        await facade.list_products("a\x00b", 1, 10)
