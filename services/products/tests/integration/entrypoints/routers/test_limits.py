"""Value limits at the products edge: refused with a stable code, never stored half-way."""

import json
from collections.abc import Callable
from typing import Any

import httpx

from products.testing import Catalogue
from shop_contracts.limits import MAX_HEADER_BYTES, MAX_LINE_QUANTITY, MAX_STOCK
from shop_contracts.reservations import Reservation

Problem = Callable[[httpx.Response, int, str], dict[str, Any]]
Headers = dict[str, str]


async def test_stock_adjustment_past_the_stock_limit_is_a_409_and_changes_nothing(
    client: httpx.AsyncClient, admin: Headers, catalogue: Catalogue, problem: Problem
) -> None:
    product = await catalogue.add(stock=MAX_STOCK - 5)
    url = f"/products/{product.id}/stock-adjustments"

    refused = await client.post(url, json={"delta": 6}, headers=admin)
    # Repeated: before the limit the column overflowed on the second (a 422 "cannot be stored").
    again = await client.post(url, json={"delta": MAX_STOCK}, headers=admin)
    to_the_limit = await client.post(url, json={"delta": 5}, headers=admin)

    problem(refused, 409, "stock_limit_exceeded")
    problem(again, 409, "stock_limit_exceeded")
    assert to_the_limit.json()["stock_available"] == MAX_STOCK


async def test_held_units_count_towards_the_stock_limit(
    client: httpx.AsyncClient,
    admin: Headers,
    service: Headers,
    catalogue: Catalogue,
    problem: Problem,
) -> None:
    product = await catalogue.add(stock=MAX_STOCK)
    held = await client.post(
        "/reservations",
        json={"reservation_key": "k", "lines": [{"product_id": str(product.id), "quantity": 10}]},
        headers=service,
    )
    assert held.status_code == 201, held.text

    refill = await client.post(
        f"/products/{product.id}/stock-adjustments", json={"delta": 10}, headers=admin
    )
    released = await client.post(f"/reservations/{held.json()['id']}/release", headers=service)

    problem(refill, 409, "stock_limit_exceeded")
    assert released.status_code == 200
    assert await catalogue.stock(product) == MAX_STOCK


async def test_the_documented_stock_limits_match_the_enforced_ones(
    client: httpx.AsyncClient,
) -> None:
    schemas = (await client.get("http://products/openapi.json")).json()["components"]["schemas"]

    assert schemas["ProductCreate"]["properties"]["stock"]["maximum"] == MAX_STOCK
    assert schemas["Product"]["properties"]["stock_available"]["maximum"] == 2**31 - 1


async def test_a_replayed_reservation_is_documented_with_its_body(
    client: httpx.AsyncClient, service: Headers, catalogue: Catalogue
) -> None:
    product = await catalogue.add(stock=5)
    body = {"reservation_key": "replay", "lines": [{"product_id": str(product.id), "quantity": 1}]}
    await client.post("/reservations", json=body, headers=service)

    replay = await client.post("/reservations", json=body, headers=service)
    document = (await client.get("http://products/openapi.json")).json()
    documented = document["paths"]["/api/v1/reservations"]["post"]["responses"]["200"]

    assert replay.status_code == 200
    Reservation.model_validate(replay.json())
    schema = documented["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/Reservation"}


async def test_a_static_path_is_never_taken_for_a_product_id(
    client: httpx.AsyncClient, admin: Headers, problem: Problem
) -> None:
    patched = await client.patch("/products/bulk", json={"name": "x"}, headers=admin)
    options = await client.options("/products/lookup")

    problem(patched, 405, "method_not_allowed")
    assert patched.headers["Allow"] == "POST"
    problem(options, 405, "method_not_allowed")
    assert options.headers["Allow"] == "POST"


async def test_an_uppercase_uuid_still_names_the_product(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    product = await catalogue.add()

    response = await client.get(f"/products/{str(product.id).upper()}")

    assert (response.status_code, response.json()["id"]) == (200, str(product.id))


async def test_oversized_request_headers_are_a_431_problem(
    client: httpx.AsyncClient, problem: Problem
) -> None:
    at_limit = {"X-Padding": "a" * (MAX_HEADER_BYTES - 1_000)}
    past_limit = {"X-Padding": "a" * MAX_HEADER_BYTES}

    assert (await client.get("/products", headers=at_limit)).status_code == 200
    body = problem(await client.get("/products", headers=past_limit), 431, "headers_too_large")
    assert json.dumps(body).count("a" * 100) == 0  # the header is not echoed back


async def test_lines_of_one_product_merging_past_the_line_limit_are_refused(
    client: httpx.AsyncClient, service: Headers, catalogue: Catalogue, problem: Problem
) -> None:
    product = await catalogue.add(stock=MAX_STOCK)
    line = {"product_id": str(product.id), "quantity": MAX_LINE_QUANTITY}

    refused = await client.post(
        "/reservations", json={"reservation_key": "merged", "lines": [line, line]}, headers=service
    )

    problem(refused, 422, "validation_error")
    assert await catalogue.stock(product) == MAX_STOCK
