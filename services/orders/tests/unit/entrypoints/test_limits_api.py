"""Value limits at the orders edge: what is refused is refused before anything is saved,
and what is saved can always be read, listed, summarised and cancelled."""

from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from fakes import FakeProductClient
from harness import OrdersApi
from sqlalchemy import update
from sqlalchemy.ext.asyncio import create_async_engine

from orders.adapters.db.tables import order_items, orders
from servicekit.auth import mint_user_token
from shop_contracts.limits import MAX_KEY_LENGTH, MAX_LINE_QUANTITY, MAX_ORDER_TOTAL, MAX_PRICE


def _cart(*lines: tuple[Any, int]) -> dict[str, Any]:
    return {"items": [{"product_id": str(pid), "quantity": qty} for pid, qty in lines]}


async def _reads(api: OrdersApi, user: str, order_id: str) -> list[int]:
    headers = api.auth(user)
    return [
        (await api.http.get(f"/api/v1/orders/{order_id}", headers=headers)).status_code,
        (await api.http.get("/api/v1/orders", headers=headers)).status_code,
        (await api.http.get("/api/v1/orders/summary", headers=headers)).status_code,
    ]


async def test_an_order_whose_total_passes_the_limit_is_refused_and_nothing_is_kept(
    api: OrdersApi, products: FakeProductClient
) -> None:
    gold = products.add(stock=5, price=str(MAX_PRICE))
    headers = api.auth("alice")

    quoted = await api.http.post("/api/v1/orders/quote", json=_cart((gold.id, 2)), headers=headers)
    placed = await api.place("alice", [(gold.id, 2)], key="big")
    retried = await api.place("alice", [(gold.id, 2)], key="big")
    listed = await api.http.get("/api/v1/orders", headers=headers)
    summary = await api.http.get("/api/v1/orders/summary", headers=headers)

    for response in (quoted, placed, retried):
        assert (response.status_code, response.json()["code"]) == (422, "order_total_too_large")
    assert listed.json()["total"] == 0
    assert summary.json()["total_orders"] == 0
    assert products.stock[gold.id] == 5
    assert products.statuses() == []  # refused before anything was held (ADR 0020)


async def test_an_order_at_the_total_limit_is_placed_read_and_cancelled(
    api: OrdersApi, products: FakeProductClient
) -> None:
    half = products.add(stock=5, price=str((MAX_ORDER_TOTAL - Decimal("0.01")) / 2))
    cent = products.add(stock=5, price="0.01")

    placed = await api.place("alice", [(half.id, 2), (cent.id, 1)])
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["id"]
    cancelled = await api.http.post(
        f"/api/v1/orders/{order_id}/cancel", json={"reason": ""}, headers=api.auth("alice")
    )

    assert placed.status_code == 201, placed.text
    assert placed.json()["total"] == str(MAX_ORDER_TOTAL)
    assert await _reads(api, "alice", order_id) == [200, 200, 200]
    assert cancelled.status_code == 200
    assert products.stock[half.id] == 5


async def test_an_order_saved_past_today_limits_is_still_read_listed_summarised_and_cancelled(
    api: OrdersApi, products: FakeProductClient, orders_db_url: str
) -> None:
    mug = products.add(stock=MAX_LINE_QUANTITY, price="1.00")
    placed = await api.place("alice", [(mug.id, MAX_LINE_QUANTITY)])
    order_id = placed.json()["id"]
    assert placed.status_code == 201, placed.text
    # As a row written before the order total limit existed: 10,000 units at the top price.
    line_cents = int(MAX_PRICE * 100)
    engine = create_async_engine(orders_db_url)
    async with engine.begin() as connection:
        await connection.execute(
            update(orders)
            .where(orders.c.id == UUID(order_id))
            .values(total_minor=line_cents * MAX_LINE_QUANTITY)
        )
        await connection.execute(update(order_items).values(unit_price_minor=line_cents))
    await engine.dispose()

    read = await api.http.get(f"/api/v1/orders/{order_id}", headers=api.auth("alice"))
    reads = await _reads(api, "alice", order_id)
    cancelled = await api.http.post(
        f"/api/v1/orders/{order_id}/cancel", json={"reason": "too big"}, headers=api.auth("alice")
    )

    assert read.json()["total"] == "99999999999900.00"
    assert read.json()["items"][0]["line_total"] == "99999999999900.00"
    assert reads == [200, 200, 200]
    assert cancelled.status_code == 200, cancelled.text
    assert products.stock[mug.id] == MAX_LINE_QUANTITY


async def test_a_summary_up_to_the_last_representable_day_counts_every_order(
    api: OrdersApi, products: FakeProductClient
) -> None:
    mug = products.add(price="2.50")
    await api.place("alice", [(mug.id, 2)])

    response = await api.http.get(
        "/api/v1/orders/summary",
        params={"start_date": "0001-01-01", "end_date": "9999-12-31"},
        headers=api.auth("alice"),
    )

    assert response.status_code == 200, response.text
    assert response.json() == {
        "total_orders": 1,
        "total_spent": "5.00",
        "avg_order_value": "5.00",
        "currency": "EUR",
    }


async def test_a_summary_never_adds_two_currencies(
    api: OrdersApi, products: FakeProductClient
) -> None:
    euro = products.add(price="10.00", currency="EUR")
    dollar = products.add(price="3.00", currency="USD")
    await api.place("alice", [(euro.id, 1)])
    await api.place("alice", [(dollar.id, 2)])
    headers = api.auth("alice")

    mixed = await api.http.get("/api/v1/orders/summary", headers=headers)
    dollars = await api.http.get(
        "/api/v1/orders/summary", params={"currency": "USD"}, headers=headers
    )
    yen = await api.http.get("/api/v1/orders/summary", params={"currency": "JPY"}, headers=headers)

    assert (mixed.status_code, mixed.json()["code"]) == (422, "mixed_currencies")
    assert mixed.json()["currencies"] == ["EUR", "USD"]
    assert dollars.json() == {
        "total_orders": 1,
        "total_spent": "6.00",
        "avg_order_value": "6.00",
        "currency": "USD",
    }
    assert (yen.json()["total_orders"], yen.json()["currency"]) == (0, "JPY")


async def test_a_token_subject_no_order_column_can_hold_is_refused_before_any_hold(
    api: OrdersApi, products: FakeProductClient
) -> None:
    mug = products.add(stock=3)
    token = mint_user_token(api.settings, "u" * (MAX_KEY_LENGTH + 1), [])

    response = await api.http.post(
        "/api/v1/orders",
        json=_cart((mug.id, 1)),
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": uuid4().hex},
    )

    assert (response.status_code, response.json()["code"]) == (401, "not_authenticated")
    assert products.by_id == {}
