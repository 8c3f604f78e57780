"""Admin catalogue writes over HTTP."""

from collections.abc import Callable
from typing import Any
from uuid import uuid4

import httpx
import pytest

from products.testing import Catalogue

Problem = Callable[[httpx.Response, int, str], dict[str, Any]]
Headers = dict[str, str]


def _new(**overrides: Any) -> dict[str, Any]:
    return {
        "sku": f"A-{uuid4().hex[:10]}",
        "name": "Desk",
        "price": "120.00",
        "stock": 4,
    } | overrides


async def test_create_product_answers_201_with_location(
    client: httpx.AsyncClient, admin: Headers
) -> None:
    response = await client.post("/products", json=_new(description="Oak"), headers=admin)

    assert response.status_code == 201
    body = response.json()
    assert response.headers["location"] == f"/api/v1/products/{body['id']}"
    assert (body["name"], body["description"], body["price"]) == ("Desk", "Oak", "120.00")
    assert (await client.get(f"/products/{body['id']}")).json() == body


async def test_duplicate_sku_is_a_409(
    client: httpx.AsyncClient, admin: Headers, problem: Problem
) -> None:
    payload = _new()
    await client.post("/products", json=payload, headers=admin)

    response = await client.post("/products", json=payload | {"name": "Other"}, headers=admin)

    problem(response, 409, "sku_already_exists")


@pytest.mark.parametrize(
    "bad",
    [
        {"price": "-1.00"},
        {"price": "1.001"},
        {"stock": -1},
        {"sku": ""},
        {"currency": "eur"},
        {"currency": "HEO"},
    ],
)
async def test_invalid_product_fields_are_rejected(
    client: httpx.AsyncClient, admin: Headers, problem: Problem, bad: dict[str, Any]
) -> None:
    problem(
        await client.post("/products", json=_new(**bad), headers=admin), 422, "validation_error"
    )


async def test_patch_changes_only_the_given_fields(
    client: httpx.AsyncClient, admin: Headers, catalogue: Catalogue
) -> None:
    product = await catalogue.add(price="5.00", stock=7)

    response = await client.patch(
        f"/products/{product.id}", json={"price": "6.25", "name": "Renamed"}, headers=admin
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["name"], body["price"], body["stock_available"]) == ("Renamed", "6.25", 7)
    assert body["sku"] == product.sku
    assert body["updated_at"] >= body["created_at"]


async def test_patch_of_unknown_product_is_404(
    client: httpx.AsyncClient, admin: Headers, problem: Problem
) -> None:
    response = await client.patch(f"/products/{uuid4()}", json={"name": "X"}, headers=admin)

    problem(response, 404, "product_not_found")


async def test_stock_adjustment_adds_and_removes_units(
    client: httpx.AsyncClient, admin: Headers, catalogue: Catalogue
) -> None:
    product = await catalogue.add(stock=5)
    url = f"/products/{product.id}/stock-adjustments"

    added = await client.post(url, json={"delta": 10, "reason": "delivery"}, headers=admin)
    removed = await client.post(url, json={"delta": -15, "reason": "damaged"}, headers=admin)

    assert added.json()["stock_available"] == 15
    assert removed.json()["stock_available"] == 0


async def test_stock_adjustment_below_zero_is_a_409_and_changes_nothing(
    client: httpx.AsyncClient, admin: Headers, catalogue: Catalogue, problem: Problem
) -> None:
    product = await catalogue.add(stock=5)

    response = await client.post(
        f"/products/{product.id}/stock-adjustments", json={"delta": -6}, headers=admin
    )

    body = problem(response, 409, "insufficient_stock")
    assert body["product_ids"] == [str(product.id)]
    assert await catalogue.stock(product) == 5


async def test_stock_adjustment_of_unknown_product_is_404(
    client: httpx.AsyncClient, admin: Headers, problem: Problem
) -> None:
    response = await client.post(
        f"/products/{uuid4()}/stock-adjustments", json={"delta": 1}, headers=admin
    )

    problem(response, 404, "product_not_found")


async def test_bulk_import_creates_every_product_in_order(
    client: httpx.AsyncClient, admin: Headers
) -> None:
    items = [_new(name=f"Chair {i}") for i in range(3)]

    response = await client.post("/products/bulk", json={"products": items}, headers=admin)

    assert response.status_code == 201
    assert [p["sku"] for p in response.json()["created"]] == [i["sku"] for i in items]


async def test_bulk_import_over_the_cap_is_a_413(
    client: httpx.AsyncClient, admin: Headers, problem: Problem
) -> None:
    items = [_new() for _ in range(4)]

    response = await client.post("/products/bulk", json={"products": items}, headers=admin)

    problem(response, 413, "bulk_import_too_large")


async def test_bulk_import_is_all_or_nothing(
    client: httpx.AsyncClient, admin: Headers, problem: Problem
) -> None:
    taken = _new()
    await client.post("/products", json=taken, headers=admin)
    fresh = _new()

    response = await client.post("/products/bulk", json={"products": [fresh, taken]}, headers=admin)

    problem(response, 409, "sku_already_exists")
    listing = (await client.get("/products", params={"q": fresh["sku"]})).json()
    assert listing["total"] == 0


async def test_oversized_body_is_a_413(
    client: httpx.AsyncClient, admin: Headers, problem: Problem
) -> None:
    response = await client.post("/products", json=_new(description="x" * 5000), headers=admin)

    problem(response, 413, "body_too_large")
