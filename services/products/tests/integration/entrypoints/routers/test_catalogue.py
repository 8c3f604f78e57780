"""Public catalogue reads over HTTP."""

from collections.abc import Callable
from typing import Any
from uuid import uuid4

import httpx
import pytest

from products.testing import Catalogue

Problem = Callable[[httpx.Response, int, str], dict[str, Any]]


async def test_get_product_returns_it_with_money_as_a_two_place_string(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    product = await catalogue.add(price="7.5", stock=3)

    response = await client.get(f"/products/{product.id}")

    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["price"], body["currency"]) == (str(product.id), "7.50", "EUR")
    assert body["stock_available"] == 3


async def test_unknown_product_is_404_naming_it(
    client: httpx.AsyncClient, problem: Problem
) -> None:
    missing = uuid4()

    body = problem(await client.get(f"/products/{missing}"), 404, "product_not_found")

    assert body["product_ids"] == [str(missing)]


async def test_a_path_whose_product_id_is_not_a_uuid_names_nothing(
    client: httpx.AsyncClient, problem: Problem
) -> None:
    problem(await client.get("/products/not-a-uuid"), 404, "not_found")


async def test_search_matches_name_or_sku_case_insensitively_and_pages(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    marker = uuid4().hex[:8]
    by_name = [await catalogue.add(name=f"Lamp {marker.upper()} {i}") for i in range(3)]
    await catalogue.add(name="Unrelated")

    first = (await client.get("/products", params={"q": marker, "page_size": 2})).json()
    second = (await client.get("/products", params={"q": marker, "page_size": 2, "page": 2})).json()
    by_sku = (await client.get("/products", params={"q": by_name[0].sku.lower()})).json()

    assert (first["total"], first["page"], first["page_size"]) == (3, 1, 2)
    found = {item["id"] for item in first["items"] + second["items"]}
    assert found == {str(p.id) for p in by_name}
    assert [item["id"] for item in by_sku["items"]] == [str(by_name[0].id)]


async def test_search_treats_wildcards_literally(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    await catalogue.add()

    body = (await client.get("/products", params={"q": "%"})).json()

    assert body["total"] == 0


@pytest.mark.parametrize("page_size", [0, 101, 1000])
async def test_page_size_outside_1_to_100_is_rejected(
    client: httpx.AsyncClient, problem: Problem, page_size: int
) -> None:
    response = await client.get("/products", params={"page_size": page_size})

    problem(response, 422, "validation_error")


async def test_lookup_returns_products_in_request_order_and_missing_ids(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    first, second = await catalogue.add(), await catalogue.add()
    unknown = str(uuid4())

    response = await client.post(
        "/products/lookup", json={"ids": [str(second.id), unknown, str(first.id), str(second.id)]}
    )

    assert response.status_code == 200
    body = response.json()
    assert [p["id"] for p in body["items"]] == [str(second.id), str(first.id)]
    assert body["missing"] == [unknown]


async def test_lookup_rejects_an_empty_id_list(client: httpx.AsyncClient, problem: Problem) -> None:
    problem(await client.post("/products/lookup", json={"ids": []}), 422, "validation_error")


async def test_malformed_json_is_a_400(client: httpx.AsyncClient, problem: Problem) -> None:
    response = await client.post(
        "/products/lookup", content=b'{"ids": [', headers={"content-type": "application/json"}
    )

    problem(response, 400, "malformed_request")


async def test_stock_check_reports_availability(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    product = await catalogue.add(stock=2)

    body = (await client.get(f"/products/{product.id}/stock", params={"quantity": 3})).json()

    assert body == {
        "product_id": str(product.id),
        "requested": 3,
        "stock_available": 2,
        "available": False,
    }


@pytest.mark.parametrize("quantity", [0, -1])
async def test_stock_check_needs_a_positive_quantity(
    client: httpx.AsyncClient, catalogue: Catalogue, problem: Problem, quantity: int
) -> None:
    product = await catalogue.add()

    response = await client.get(f"/products/{product.id}/stock", params={"quantity": quantity})

    problem(response, 422, "validation_error")


async def test_text_the_database_cannot_store_is_never_a_500(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    # PostgreSQL refuses NUL characters in text; SQLite stores them.
    search = await client.get("/products", params={"q": "a\x00b"})
    create = await client.post(
        "/products",
        json={"sku": f"NUL-{uuid4().hex[:8]}", "name": "a\x00b", "price": "1.00"},
        headers=admin,
    )

    for response, ok in ((search, 200), (create, 201)):
        assert response.status_code in {ok, 422}, response.text
        if response.status_code == 422:
            assert response.json()["code"] == "validation_error"
