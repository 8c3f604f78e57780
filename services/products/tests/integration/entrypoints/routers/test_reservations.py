"""Internal reservation endpoints over HTTP, and their agreement with the facade."""

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from products.facade import ProductsFacade
from products.testing import Catalogue
from shop_contracts.errors import InsufficientStock, ProductNotFound
from shop_contracts.limits import MAX_PRICE
from shop_contracts.reservations import ReservationLineRequest

Problem = Callable[[httpx.Response, int, str], dict[str, Any]]
Headers = dict[str, str]


def _line(product_id: UUID, quantity: int) -> ReservationLineRequest:
    return ReservationLineRequest(product_id=product_id, quantity=quantity)


def _request(*lines: tuple[object, int], key: str | None = None) -> dict[str, Any]:
    return {
        "reservation_key": key or uuid4().hex,
        "lines": [{"product_id": str(pid), "quantity": qty} for pid, qty in lines],
    }


async def test_new_reservation_is_201_with_location_and_replay_is_200(
    client: httpx.AsyncClient, service: Headers, catalogue: Catalogue
) -> None:
    product = await catalogue.add(stock=5, price="2.40", name="Pencil")
    request = _request((product.id, 2))

    created = await client.post("/reservations", json=request, headers=service)
    replayed = await client.post("/reservations", json=request, headers=service)

    assert (created.status_code, replayed.status_code) == (201, 200)
    body = created.json()
    assert created.headers["location"] == f"/api/v1/reservations/{body['id']}"
    assert replayed.json() == body
    assert body["status"] == "held"
    assert body["lines"] == [
        {
            "product_id": str(product.id),
            "quantity": 2,
            "product_name": "Pencil",
            "unit_price": "2.40",
            "currency": "EUR",
        }
    ]
    assert await catalogue.stock(product) == 3


async def test_same_key_with_different_lines_is_422(
    client: httpx.AsyncClient, service: Headers, catalogue: Catalogue, problem: Problem
) -> None:
    product = await catalogue.add(stock=5)
    key = uuid4().hex
    await client.post("/reservations", json=_request((product.id, 1), key=key), headers=service)

    response = await client.post(
        "/reservations", json=_request((product.id, 2), key=key), headers=service
    )

    problem(response, 422, "idempotency_key_reused")


async def test_a_key_reused_reads_without_the_key(
    client: httpx.AsyncClient, service: Headers, catalogue: Catalogue, problem: Problem
) -> None:
    product = await catalogue.add(stock=5)
    key = f"order:someone:{uuid4().hex}"
    await client.post("/reservations", json=_request((product.id, 1), key=key), headers=service)

    response = await client.post(
        "/reservations", json=_request((product.id, 2), key=key), headers=service
    )

    body = problem(response, 422, "idempotency_key_reused")
    assert key not in body["detail"]


async def test_a_hold_over_two_currencies_is_refused_and_keeps_the_key_free(
    client: httpx.AsyncClient, service: Headers, catalogue: Catalogue, problem: Problem
) -> None:
    euro, dollar = await catalogue.add(stock=5), await catalogue.add(stock=5, currency="USD")
    key = uuid4().hex

    refused = await client.post(
        "/reservations", json=_request((euro.id, 1), (dollar.id, 1), key=key), headers=service
    )
    corrected = await client.post(
        "/reservations", json=_request((euro.id, 1), key=key), headers=service
    )

    assert problem(refused, 422, "mixed_currencies")["currencies"] == ["EUR", "USD"]
    assert corrected.status_code == 201
    assert (await catalogue.stock(euro), await catalogue.stock(dollar)) == (4, 5)


async def test_a_hold_past_the_order_total_is_refused_and_keeps_the_key_free(
    client: httpx.AsyncClient, service: Headers, catalogue: Catalogue, problem: Problem
) -> None:
    gold = await catalogue.add(stock=5, price=str(MAX_PRICE))
    key = uuid4().hex

    refused = await client.post(
        "/reservations", json=_request((gold.id, 2), key=key), headers=service
    )
    corrected = await client.post(
        "/reservations", json=_request((gold.id, 1), key=key), headers=service
    )

    problem(refused, 422, "order_total_too_large")
    assert corrected.status_code == 201
    assert await catalogue.stock(gold) == 4


async def test_insufficient_stock_is_409_naming_the_products(
    client: httpx.AsyncClient, service: Headers, catalogue: Catalogue, problem: Problem
) -> None:
    plenty, scarce = await catalogue.add(stock=9), await catalogue.add(stock=1)

    response = await client.post(
        "/reservations", json=_request((plenty.id, 1), (scarce.id, 2)), headers=service
    )

    body = problem(response, 409, "insufficient_stock")
    assert body["product_ids"] == [str(scarce.id)]
    assert await catalogue.stock(plenty) == 9


async def test_unknown_product_is_404(
    client: httpx.AsyncClient, service: Headers, problem: Problem
) -> None:
    missing = uuid4()

    body = problem(
        await client.post("/reservations", json=_request((missing, 1)), headers=service),
        404,
        "product_not_found",
    )

    assert body["product_ids"] == [str(missing)]


@pytest.mark.parametrize("quantity", [0, -3, 10_001])
async def test_out_of_range_quantities_are_rejected(
    client: httpx.AsyncClient,
    service: Headers,
    catalogue: Catalogue,
    problem: Problem,
    quantity: int,
) -> None:
    product = await catalogue.add()

    response = await client.post(
        "/reservations", json=_request((product.id, quantity)), headers=service
    )

    problem(response, 422, "validation_error")


async def test_confirm_and_release_are_idempotent_and_return_stock(
    client: httpx.AsyncClient, service: Headers, catalogue: Catalogue, problem: Problem
) -> None:
    product = await catalogue.add(stock=5)
    created = await client.post("/reservations", json=_request((product.id, 5)), headers=service)
    url = f"/reservations/{created.json()['id']}"

    confirms = [(await client.post(f"{url}/confirm", headers=service)) for _ in range(2)]
    assert [r.json()["status"] for r in confirms] == ["confirmed", "confirmed"]
    assert await catalogue.stock(product) == 0

    releases = [(await client.post(f"{url}/release", headers=service)) for _ in range(2)]
    assert [r.json()["status"] for r in releases] == ["released", "released"]
    assert await catalogue.stock(product) == 5

    assert (await client.get(url, headers=service)).json()["status"] == "released"
    problem(await client.post(f"{url}/confirm", headers=service), 409, "reservation_released")


async def test_confirm_after_the_hold_lapsed_is_409_and_stock_comes_back(
    short_ttl_client: httpx.AsyncClient,
    service: Headers,
    catalogue: Catalogue,
    problem: Problem,
) -> None:
    product = await catalogue.add(stock=4)
    created = await short_ttl_client.post(
        "/reservations", json=_request((product.id, 4)), headers=service
    )
    await asyncio.sleep(0.3)

    response = await short_ttl_client.post(
        f"/reservations/{created.json()['id']}/confirm", headers=service
    )

    problem(response, 409, "reservation_expired")
    assert await catalogue.stock(product) == 4


@pytest.mark.parametrize("action", ["confirm", "release"])
async def test_unknown_reservation_is_404(
    client: httpx.AsyncClient, service: Headers, problem: Problem, action: str
) -> None:
    response = await client.post(f"/reservations/{uuid4()}/{action}", headers=service)

    problem(response, 404, "reservation_not_found")


async def test_a_path_whose_reservation_id_is_not_a_uuid_names_nothing(
    client: httpx.AsyncClient, service: Headers, problem: Problem
) -> None:
    problem(await client.get("/reservations/123", headers=service), 404, "not_found")


async def test_http_and_facade_agree_field_by_field(
    client: httpx.AsyncClient, service: Headers, catalogue: Catalogue, facade: ProductsFacade
) -> None:
    product = await catalogue.add(stock=3)
    created = (
        await client.post("/reservations", json=_request((product.id, 1)), headers=service)
    ).json()

    via_facade = await facade.get_reservation(UUID(created["id"]))
    via_http = (await client.get(f"/reservations/{created['id']}", headers=service)).json()
    product_via_http = (await client.get(f"/products/{product.id}")).json()

    assert via_facade.model_dump(mode="json") == via_http == created
    assert (await facade.get_product(product.id)).model_dump(mode="json") == product_via_http


async def test_http_errors_carry_the_same_product_ids_as_facade_exceptions(
    client: httpx.AsyncClient, service: Headers, catalogue: Catalogue, facade: ProductsFacade
) -> None:
    scarce, missing = await catalogue.add(stock=0), uuid4()
    lines = [(scarce.id, 1)]

    short = await client.post("/reservations", json=_request(*lines), headers=service)
    unknown = await client.post("/reservations", json=_request((missing, 1)), headers=service)

    with pytest.raises(InsufficientStock) as short_error:
        await facade.reserve(uuid4().hex, [_line(scarce.id, 1)])
    with pytest.raises(ProductNotFound) as unknown_error:
        await facade.reserve(uuid4().hex, [_line(missing, 1)])
    assert short.json()["product_ids"] == [str(i) for i in short_error.value.product_ids]
    assert unknown.json()["product_ids"] == [str(i) for i in unknown_error.value.product_ids]


async def test_200_concurrent_http_reservations_against_stock_50_hold_exactly_50(
    client: httpx.AsyncClient, service: Headers, catalogue: Catalogue
) -> None:
    product = await catalogue.add(stock=50)

    responses = await asyncio.gather(
        *(
            client.post("/reservations", json=_request((product.id, 1)), headers=service)
            for _ in range(200)
        )
    )

    outcomes = Counter((r.status_code, r.json().get("code")) for r in responses)
    assert outcomes == {(201, None): 50, (409, "insufficient_stock"): 150}
    assert await catalogue.stock(product) == 0
