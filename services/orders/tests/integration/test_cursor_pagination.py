"""GET /orders by cursor (keyset), beside page numbers, on SQLite and PostgreSQL."""

import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from fakes import FakeProductClient
from harness import OrdersApi, SteppingClock, make_settings, running_api
from sqlalchemy import insert

from orders.adapters.db.migrate import upgrade_orders_database
from orders.adapters.db.tables import orders
from servicekit.db import create_engine
from shop_contracts.pagination import CURSOR_TOTAL_LIMIT, Keyset, encode_cursor

LIST = "/api/v1/orders"
START = datetime(2026, 3, 1, 12, tzinfo=UTC)


@pytest.fixture
def clock() -> SteppingClock:
    return SteppingClock(START)


@pytest.fixture
async def database_url(empty_database_url: str) -> str:
    await upgrade_orders_database(empty_database_url)
    return empty_database_url


@pytest.fixture
async def api(
    database_url: str, products: FakeProductClient, clock: SteppingClock
) -> AsyncIterator[OrdersApi]:
    async with running_api(
        make_settings(database_url), product_client=products, clock=clock
    ) as api:
        yield api


@pytest.fixture
def products() -> FakeProductClient:
    return FakeProductClient()


async def _place(
    api: OrdersApi, clock: SteppingClock, when: datetime, user: str, product: UUID
) -> str:
    clock.now = when
    response = await api.place(user, [(product, 1)])
    assert response.status_code == 201, response.text
    order_id: str = response.json()["id"]
    return order_id


async def _history(api: OrdersApi, clock: SteppingClock, products: FakeProductClient) -> list[str]:
    """Seven of alice's orders, newest first; three share one created_at (the id breaks ties)."""
    mug = products.add(stock=100).id
    times = [START - timedelta(hours=h) for h in (6, 5, 4, 4, 4, 2, 1)]
    placed = [(when, await _place(api, clock, when, "alice", mug)) for when in times]
    await _place(api, clock, START, "bob", mug)
    return [
        order_id for _, order_id in sorted(placed, key=lambda p: (p[0], UUID(p[1])), reverse=True)
    ]


async def _get(api: OrdersApi, query: str, user: str = "alice") -> dict[str, Any]:
    response = await api.http.get(f"{LIST}?{query}", headers=api.auth(user))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _walk(api: OrdersApi, query: str) -> list[dict[str, Any]]:
    """Every page of a cursor walk, following next_cursor from an empty cursor."""
    pages = [await _get(api, f"{query}&cursor=")]
    while pages[-1]["next_cursor"] is not None:
        pages.append(await _get(api, f"{query}&cursor={pages[-1]['next_cursor']}"))
    return pages


async def test_a_cursor_walk_returns_the_same_orders_in_the_same_order_as_page_numbers(
    api: OrdersApi, clock: SteppingClock, products: FakeProductClient
) -> None:
    newest_first = await _history(api, clock, products)

    walk = await _walk(api, "page_size=3")
    by_number = [await _get(api, f"page={n}&page_size=3") for n in (1, 2, 3)]

    assert [[o["id"] for o in p["items"]] for p in walk] == [
        [o["id"] for o in p["items"]] for p in by_number
    ]
    assert [o["id"] for p in walk for o in p["items"]] == newest_first
    assert [(p["page"], p["total"], p["total_exact"]) for p in walk] == [
        (1, 7, True),
        (2, 7, True),
        (3, 7, True),
    ]
    assert walk[-1]["next_cursor"] is None
    assert walk[0]["items"][0]["item_count"] == 1


async def test_page_numbers_answer_as_before_and_hand_over_to_a_cursor(
    api: OrdersApi, clock: SteppingClock, products: FakeProductClient
) -> None:
    newest_first = await _history(api, clock, products)

    first = await _get(api, "page=1&page_size=4")
    rest = await _get(api, f"page_size=4&cursor={first['next_cursor']}")
    last = await _get(api, "page=2&page_size=4")

    assert {k: first[k] for k in ("total", "page", "page_size")} == {
        "total": 7,
        "page": 1,
        "page_size": 4,
    }
    assert [o["id"] for o in first["items"] + rest["items"]] == newest_first
    assert rest["page"] == 2
    assert rest["next_cursor"] is None
    assert last["next_cursor"] is None


async def test_an_order_placed_mid_walk_neither_repeats_nor_shifts_the_walk(
    api: OrdersApi, clock: SteppingClock, products: FakeProductClient
) -> None:
    newest_first = await _history(api, clock, products)
    first = await _get(api, "page_size=3&cursor=")
    by_number_first = await _get(api, "page=1&page_size=3")

    newer = await _place(api, clock, START + timedelta(minutes=1), "alice", products.add().id)
    second = await _get(api, f"page_size=3&cursor={first['next_cursor']}")
    by_number_second = await _get(api, "page=2&page_size=3")

    assert [o["id"] for o in first["items"] + second["items"]] == newest_first[:6]
    # Page numbers shift under the insert: the last order of page one comes again.
    assert by_number_second["items"][0]["id"] == by_number_first["items"][-1]["id"]
    assert newer not in [o["id"] for o in second["items"]]
    restarted = await _get(api, "page_size=3&cursor=")
    assert restarted["items"][0]["id"] == newer


async def test_the_status_filter_applies_to_every_page_of_a_walk(
    api: OrdersApi, clock: SteppingClock, products: FakeProductClient
) -> None:
    newest_first = await _history(api, clock, products)
    cancelled = newest_first[1::2]
    for order_id in cancelled:
        response = await api.http.post(
            f"{LIST}/{order_id}/cancel", json={"reason": ""}, headers=api.auth("alice")
        )
        assert response.status_code == 200, response.text

    walk = await _walk(api, "page_size=2&status=cancelled")
    confirmed = await _walk(api, "page_size=2&status=confirmed")

    assert [o["id"] for p in walk for o in p["items"]] == cancelled
    assert {o["status"] for p in walk for o in p["items"]} == {"cancelled"}
    assert [p["total"] for p in walk] == [3, 3]
    assert [o["id"] for p in confirmed for o in p["items"]] == [
        i for i in newest_first if i not in cancelled
    ]


async def test_an_empty_history_is_one_empty_last_page(api: OrdersApi) -> None:
    assert await _get(api, "cursor=", user="nobody") == {
        "items": [],
        "total": 0,
        "page": 1,
        "page_size": 20,
        "next_cursor": None,
        "total_exact": True,
    }


async def test_past_its_limit_the_total_says_so_by_cursor_and_counts_exactly_by_page(
    api: OrdersApi, database_url: str
) -> None:
    # Straight into the table: a history longer than the limit, in one statement.
    rows = [
        {
            "id": uuid4(),
            "user_id": "heavy",
            "customer_email": None,
            "idempotency_key": f"k{n}",
            "request_hash": "0" * 64,
            "reservation_id": uuid4(),
            "status": "confirmed",
            "currency": "EUR",
            "total_minor": 100,
            "version": 1,
            "created_at": START - timedelta(minutes=n),
            "updated_at": START - timedelta(minutes=n),
        }
        for n in range(CURSOR_TOTAL_LIMIT + 1)
    ]
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(insert(orders), rows)
    finally:
        await engine.dispose()

    by_cursor = await _get(api, "cursor=&page_size=1", user="heavy")
    by_page = await _get(api, "page=1&page_size=1", user="heavy")

    assert (by_cursor["total"], by_cursor["total_exact"]) == (CURSOR_TOTAL_LIMIT, False)
    assert (by_page["total"], by_page["total_exact"]) == (CURSOR_TOTAL_LIMIT + 1, True)
    assert by_cursor["items"] == by_page["items"]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


GOOD = encode_cursor(Keyset(START, UUID(int=7), 2))


@pytest.mark.parametrize(
    "cursor",
    [
        "x",
        "not-a-cursor-at-all",
        GOOD[:-1],
        GOOD + "A",
        "!" * len(GOOD),
        _b64(b"\x02" + base64.urlsafe_b64decode(GOOD + "=")[1:]),  # another version
        encode_cursor(Keyset(START, UUID(int=7), 1)),  # no cursor names the first page
        GOOD[:-1] + ("B" if GOOD[-1] != "B" else "C"),  # unused low bits set: not ours
    ],
)
async def test_a_cursor_this_api_did_not_return_is_422_invalid_cursor(
    api: OrdersApi, cursor: str
) -> None:
    response = await api.http.get(LIST, params={"cursor": cursor}, headers=api.auth("alice"))

    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "invalid_cursor"


async def test_a_cursor_with_a_page_number_is_422_validation_error(api: OrdersApi) -> None:
    response = await api.http.get(
        LIST, params={"cursor": GOOD, "page": "2"}, headers=api.auth("alice")
    )

    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert response.json()["invalid_params"][0]["name"] == "query.page"
