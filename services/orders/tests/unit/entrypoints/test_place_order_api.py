"""POST /orders over SQLite with the in-memory product client."""

import asyncio
from typing import Any
from uuid import uuid4

import pytest
from fakes import FakeProductClient, RecordingNotifier
from harness import OrdersApi, make_settings, running_api

from orders.config import FeatureFlags
from shop_contracts.reservations import ReservationStatus


async def test_placing_an_order_reserves_confirms_and_returns_201_with_location(
    api: OrdersApi, products: FakeProductClient
) -> None:
    mug = products.add(stock=5, price="12.50", name="Blue Mug")

    response = await api.place("alice", [(mug.id, 2)])

    assert response.status_code == 201
    body = response.json()
    assert response.headers["Location"] == f"/api/v1/orders/{body['id']}"
    assert body["status"] == "confirmed"
    assert body["total"] == "25.00"
    assert body["items"] == [
        {
            "product_id": str(mug.id),
            "product_name": "Blue Mug",
            "quantity": 2,
            "unit_price": "12.50",
            "line_total": "25.00",
        }
    ]
    assert products.stock[mug.id] == 3
    assert products.statuses() == [ReservationStatus.CONFIRMED]


async def test_second_post_with_same_key_returns_same_order(
    api: OrdersApi, products: FakeProductClient
) -> None:
    mug = products.add(stock=5)

    first = await api.place("alice", [(mug.id, 1)], key="k-1")
    second = await api.place("alice", [(mug.id, 1)], key="k-1")

    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert second.headers["Location"] == first.headers["Location"]
    assert products.stock[mug.id] == 4
    assert len(products.by_id) == 1


async def test_same_key_with_a_different_body_is_422_idempotency_key_reused(
    api: OrdersApi, products: FakeProductClient
) -> None:
    mug = products.add(stock=5)
    await api.place("alice", [(mug.id, 1)], key="k-1")

    response = await api.place("alice", [(mug.id, 2)], key="k-1")

    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert products.stock[mug.id] == 4


async def test_two_users_may_use_the_same_key(api: OrdersApi, products: FakeProductClient) -> None:
    mug = products.add(stock=5)

    first = await api.place("alice", [(mug.id, 1)], key="same")
    second = await api.place("bob", [(mug.id, 1)], key="same")

    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["id"] != second.json()["id"]
    assert products.stock[mug.id] == 3


async def test_missing_idempotency_key_is_a_400_problem(
    api: OrdersApi, products: FakeProductClient
) -> None:
    mug = products.add()
    response = await api.http.post(
        "/api/v1/orders",
        json={"items": [{"product_id": str(mug.id), "quantity": 1}]},
        headers=api.auth("alice"),
    )

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "idempotency_key_missing"
    assert products.calls == []


async def test_repeated_product_lines_are_merged_before_reserving(
    api: OrdersApi, products: FakeProductClient
) -> None:
    mug = products.add(stock=5)

    response = await api.place("alice", [(mug.id, 1), (mug.id, 2)])

    assert response.status_code == 201
    assert [i["quantity"] for i in response.json()["items"]] == [3]
    assert products.stock[mug.id] == 2


async def test_insufficient_stock_is_409_naming_the_product(
    api: OrdersApi, products: FakeProductClient
) -> None:
    mug = products.add(stock=1)

    response = await api.place("alice", [(mug.id, 2)])

    assert response.status_code == 409
    assert response.json()["code"] == "insufficient_stock"
    assert response.json()["product_ids"] == [str(mug.id)]


async def test_unknown_product_is_404_product_not_found(api: OrdersApi) -> None:
    response = await api.place("alice", [(uuid4(), 1)])

    assert response.status_code == 404
    assert response.json()["code"] == "product_not_found"


async def test_products_down_is_503_with_retry_after(
    api: OrdersApi, products: FakeProductClient
) -> None:
    mug = products.add()
    products.down = True

    response = await api.place("alice", [(mug.id, 1)])

    assert response.status_code == 503
    assert response.json()["code"] == "products_unavailable"
    assert response.headers["Retry-After"] == "2"


@pytest.mark.parametrize(
    "body",
    [
        {"items": []},
        {"items": [{"product_id": "not-a-uuid", "quantity": 1}]},
        {"items": [{"product_id": "00000000-0000-0000-0000-000000000001", "quantity": 0}]},
        {"items": [{"product_id": "00000000-0000-0000-0000-000000000001", "quantity": 1}], "x": 1},
    ],
)
async def test_invalid_bodies_are_422_validation_problems(
    api: OrdersApi, body: dict[str, Any]
) -> None:
    response = await api.http.post(
        "/api/v1/orders", json=body, headers={**api.auth("alice"), "Idempotency-Key": "k"}
    )

    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


async def test_malformed_json_is_400(api: OrdersApi) -> None:
    response = await api.http.post(
        "/api/v1/orders",
        content=b"{not json",
        headers={**api.auth("alice"), "Idempotency-Key": "k", "Content-Type": "application/json"},
    )

    assert response.status_code == 400
    assert response.json()["code"] == "malformed_request"


async def test_placing_an_order_requires_a_token(api: OrdersApi) -> None:
    response = await api.http.post("/api/v1/orders", json={"items": []})

    assert response.status_code == 401


@pytest.mark.parametrize(("cap", "lines", "expected"), [(2, 2, 201), (2, 3, 422)])
async def test_max_items_flag_caps_distinct_products(
    orders_db_url: str, cap: int, lines: int, expected: int
) -> None:
    products = FakeProductClient()
    items = [(products.add().id, 1) for _ in range(lines)]
    async with running_api(
        make_settings(orders_db_url),
        flags=FeatureFlags(max_items_per_order=cap),
        product_client=products,
        notifications=RecordingNotifier(),
    ) as api:
        response = await api.place("alice", items)

    assert response.status_code == expected
    if expected == 422:
        assert products.calls == []


async def test_concurrent_posts_with_one_key_make_one_order_on_sqlite(
    api: OrdersApi, products: FakeProductClient
) -> None:
    mug = products.add(stock=5)

    responses = await asyncio.gather(
        *(api.place("alice", [(mug.id, 1)], key="k") for _ in range(10))
    )

    assert sorted(r.status_code for r in responses) == [200] * 9 + [201]
    assert len({r.json()["id"] for r in responses}) == 1
    assert products.stock[mug.id] == 4
    assert products.statuses() == [ReservationStatus.CONFIRMED]
