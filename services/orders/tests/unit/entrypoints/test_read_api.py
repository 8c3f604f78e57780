"""GET /orders, /orders/{id}, /orders/summary and POST /orders/quote, checked by hand."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest
from fakes import FakeProductClient
from harness import OrdersApi, SteppingClock, make_settings, running_api


async def test_get_order_returns_the_callers_order(
    api: OrdersApi, products: FakeProductClient
) -> None:
    mug = products.add(price="3.30")
    placed = (await api.place("alice", [(mug.id, 3)])).json()

    response = await api.http.get(f"/api/v1/orders/{placed['id']}", headers=api.auth("alice"))

    assert response.status_code == 200
    assert response.json() == placed
    assert response.json()["total"] == "9.90"


async def test_another_users_order_is_404_order_not_found(
    api: OrdersApi, products: FakeProductClient
) -> None:
    placed = (await api.place("alice", [(products.add().id, 1)])).json()

    response = await api.http.get(f"/api/v1/orders/{placed['id']}", headers=api.auth("bob"))

    assert response.status_code == 404
    assert response.json()["code"] == "order_not_found"


async def test_unknown_order_is_404_and_so_is_a_path_whose_id_is_not_a_uuid(api: OrdersApi) -> None:
    missing = await api.http.get(f"/api/v1/orders/{uuid4()}", headers=api.auth("alice"))
    bad = await api.http.get("/api/v1/orders/not-a-uuid", headers=api.auth("alice"))

    assert (missing.status_code, missing.json()["code"]) == (404, "order_not_found")
    assert (bad.status_code, bad.json()["code"]) == (404, "not_found")


@pytest.fixture
def clock() -> SteppingClock:
    """Starts on 2026-03-01 at noon UTC."""
    return SteppingClock(datetime(2026, 3, 1, 12, tzinfo=UTC))


@pytest.fixture
async def dated_api(
    orders_db_url: str, products: FakeProductClient, clock: SteppingClock
) -> AsyncIterator[OrdersApi]:
    """The app on a hand-set clock."""
    async with running_api(
        make_settings(orders_db_url), product_client=products, clock=clock
    ) as api:
        yield api


async def _place_at(
    api: OrdersApi, clock: SteppingClock, when: datetime, user: str, product: UUID, qty: int
) -> str:
    clock.now = when
    response = await api.place(user, [(product, qty)])
    assert response.status_code == 201, response.text
    order_id: str = response.json()["id"]
    return order_id


async def test_list_is_newest_first_paginated_with_total(
    dated_api: OrdersApi, products: FakeProductClient, clock: SteppingClock
) -> None:
    mug = products.add(stock=100, price="1.00")
    ids = [
        await _place_at(dated_api, clock, datetime(2026, 3, day, tzinfo=UTC), "alice", mug.id, 1)
        for day in range(1, 6)
    ]
    await _place_at(dated_api, clock, datetime(2026, 3, 9, tzinfo=UTC), "bob", mug.id, 1)
    headers = dated_api.auth("alice")

    first = (await dated_api.http.get("/api/v1/orders?page=1&page_size=2", headers=headers)).json()
    last = (await dated_api.http.get("/api/v1/orders?page=3&page_size=2", headers=headers)).json()
    beyond = (await dated_api.http.get("/api/v1/orders?page=9&page_size=2", headers=headers)).json()

    assert [o["id"] for o in first["items"]] == [ids[4], ids[3]]
    assert (first["total"], first["page"], first["page_size"]) == (5, 1, 2)
    assert [o["id"] for o in last["items"]] == [ids[0]]
    assert beyond == {
        "items": [],
        "total": 5,
        "page": 9,
        "page_size": 2,
        "next_cursor": None,
        "total_exact": True,
    }
    assert first["items"][0]["item_count"] == 1


async def test_list_filters_by_status(api: OrdersApi, products: FakeProductClient) -> None:
    mug = products.add(stock=10)
    kept = (await api.place("alice", [(mug.id, 1)])).json()["id"]
    dropped = (await api.place("alice", [(mug.id, 1)])).json()["id"]
    await api.http.post(
        f"/api/v1/orders/{dropped}/cancel", json={"reason": ""}, headers=api.auth("alice")
    )

    cancelled = await api.http.get("/api/v1/orders?status=cancelled", headers=api.auth("alice"))
    confirmed = await api.http.get("/api/v1/orders?status=confirmed", headers=api.auth("alice"))

    assert [o["id"] for o in cancelled.json()["items"]] == [dropped]
    assert [o["id"] for o in confirmed.json()["items"]] == [kept]


@pytest.mark.parametrize("query", ["page_size=0", "page_size=101", "page=0", "status=lost"])
async def test_list_rejects_out_of_range_parameters(api: OrdersApi, query: str) -> None:
    response = await api.http.get(f"/api/v1/orders?{query}", headers=api.auth("alice"))

    assert response.status_code == 422


async def test_empty_list_and_empty_summary(api: OrdersApi) -> None:
    listed = await api.http.get("/api/v1/orders", headers=api.auth("nobody"))
    summary = await api.http.get("/api/v1/orders/summary", headers=api.auth("nobody"))

    assert listed.json() == {
        "items": [],
        "total": 0,
        "page": 1,
        "page_size": 20,
        "next_cursor": None,
        "total_exact": True,
    }
    assert summary.json() == {
        "total_orders": 0,
        "total_spent": "0.00",
        "avg_order_value": "0.00",
        "currency": None,
    }


async def test_summary_counts_sums_and_averages_within_inclusive_dates(
    dated_api: OrdersApi, products: FakeProductClient, clock: SteppingClock
) -> None:
    mug = products.add(stock=100, price="10.00")
    pen = products.add(stock=100, price="0.35")
    # Totals: 10.00 (Mar 1 00:00), 20.00 (Mar 2 23:59:59), 1.05 (Mar 3), 30.00 (Mar 4, cancelled)
    await _place_at(dated_api, clock, datetime(2026, 3, 1, tzinfo=UTC), "alice", mug.id, 1)
    await _place_at(
        dated_api, clock, datetime(2026, 3, 2, 23, 59, 59, tzinfo=UTC), "alice", mug.id, 2
    )
    await _place_at(dated_api, clock, datetime(2026, 3, 3, 8, tzinfo=UTC), "alice", pen.id, 3)
    cancelled = await _place_at(
        dated_api, clock, datetime(2026, 3, 4, tzinfo=UTC), "alice", mug.id, 3
    )
    await _place_at(dated_api, clock, datetime(2026, 3, 2, tzinfo=UTC), "bob", mug.id, 5)
    headers = dated_api.auth("alice")
    await dated_api.http.post(
        f"/api/v1/orders/{cancelled}/cancel", json={"reason": ""}, headers=headers
    )

    async def summary(query: str = "") -> dict[str, object]:
        response = await dated_api.http.get(f"/api/v1/orders/summary{query}", headers=headers)
        assert response.status_code == 200
        body: dict[str, object] = response.json()
        return body

    assert await summary() == {
        "total_orders": 3,
        "total_spent": "31.05",
        "avg_order_value": "10.35",
        "currency": "EUR",
    }
    assert await summary("?start_date=2026-03-02&end_date=2026-03-02") == {
        "total_orders": 1,
        "total_spent": "20.00",
        "avg_order_value": "20.00",
        "currency": "EUR",
    }
    assert await summary("?start_date=2026-03-01&end_date=2026-03-02") == {
        "total_orders": 2,
        "total_spent": "30.00",
        "avg_order_value": "15.00",
        "currency": "EUR",
    }
    assert await summary("?start_date=2026-03-03") == {
        "total_orders": 1,
        "total_spent": "1.05",
        "avg_order_value": "1.05",
        "currency": "EUR",
    }
    assert await summary("?end_date=2026-02-28") == {
        "total_orders": 0,
        "total_spent": "0.00",
        "avg_order_value": "0.00",
        "currency": None,
    }


async def test_quote_prices_the_cart_with_one_lookup_and_holds_nothing(
    api: OrdersApi, products: FakeProductClient
) -> None:
    mug = products.add(stock=1, price="4.20", name="Mug")
    pen = products.add(stock=50, price="0.99", name="Pen")
    body = {
        "items": [
            {"product_id": str(mug.id), "quantity": 2},
            {"product_id": str(pen.id), "quantity": 10},
        ]
    }

    response = await api.http.post("/api/v1/orders/quote", json=body, headers=api.auth("alice"))

    assert response.status_code == 200
    quote = response.json()
    assert quote["subtotal"] == "18.30"
    assert quote["currency"] == "EUR"
    by_name = {line["product_name"]: line for line in quote["items"]}
    assert by_name["Mug"]["line_total"] == "8.40"
    assert by_name["Mug"]["in_stock"] is False
    assert by_name["Pen"]["in_stock"] is True
    assert products.calls == ["lookup_products"]
    assert products.by_id == {}


async def test_quote_with_an_unknown_product_is_404(api: OrdersApi) -> None:
    body = {"items": [{"product_id": str(uuid4()), "quantity": 1}]}

    response = await api.http.post("/api/v1/orders/quote", json=body, headers=api.auth("alice"))

    assert response.status_code == 404
    assert response.json()["code"] == "product_not_found"
