"""A burst of concurrent orders gets the same answers in every mode: only 201 and 409.

Several users order two products with limited stock, all at once, against
real processes on PostgreSQL. Whatever the mode, every answer is a created
order or ``insufficient_stock``; nothing is oversold; once the burst is over,
stock is the initial stock minus what the created orders hold, so nothing is
held for a request that did not become an order (ADR 0009). The test bounds
its time and asserts answers and stock, not speed.
"""

import asyncio
import random
from collections import Counter
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from tests.integration.stack import ORDERS, Shop, Stack, eventually
from tests.support.processes import ServiceProcess

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

BURST = 300
USERS = 6
STOCK = (70, 50)
REQUEST_TIMEOUT = 90.0
# Pools sized as ADR 0009 says: the bulkhead admits as many calls as products'
# database pool (pool + overflow) can serve at once.
POOLS = {"APP_DB_POOL_SIZE": "5", "APP_DB_MAX_OVERFLOW": "5"}


def _carts(first: UUID, second: UUID) -> list[dict[UUID, int]]:
    shapes: list[dict[UUID, int]] = [
        {first: 1},
        {second: 1},
        {first: 1, second: 1},
        {first: 2},
        {second: 2},
    ]
    pick = random.Random(20261201)
    return [pick.choice(shapes) for _ in range(BURST)]


async def _burst(
    shop: Shop, orders: ServiceProcess, carts: list[dict[UUID, int]]
) -> list[tuple[str, dict[UUID, int], httpx.Response]]:
    users = [f"burst-{uuid4().hex[:8]}" for _ in range(USERS)]
    headers = {user: shop.auth(user) for user in users}
    start = asyncio.Event()
    limits = httpx.Limits(max_connections=BURST, max_keepalive_connections=BURST)

    async with httpx.AsyncClient(
        base_url=orders.url, timeout=REQUEST_TIMEOUT, limits=limits
    ) as http:

        async def place(
            n: int, cart: dict[UUID, int]
        ) -> tuple[str, dict[UUID, int], httpx.Response]:
            user = users[n % USERS]
            await start.wait()
            response = await http.post(
                ORDERS,
                json={"items": [{"product_id": str(p), "quantity": q} for p, q in cart.items()]},
                headers={**headers[user], "Idempotency-Key": uuid4().hex},
            )
            return user, cart, response

        calls = [asyncio.create_task(place(n, cart)) for n, cart in enumerate(carts)]
        await asyncio.sleep(0)  # every request is waiting on the same start signal
        start.set()
        async with asyncio.timeout(3 * REQUEST_TIMEOUT):
            return await asyncio.gather(*calls)


def _settled(shop: Shop, orders: ServiceProcess, users: set[str]) -> list[dict[str, Any]] | None:
    listing = [order for user in sorted(users) for order in shop.all_orders(orders, user)]
    return None if any(o["status"] == "pending" for o in listing) else listing


@pytest.mark.parametrize("mode", ["local", "http", "shadow"])
def test_a_burst_gets_only_201_and_409_and_stock_adds_up(
    stack: Stack, shop: Shop, mode: str
) -> None:
    products = stack.start_products(POOLS)
    first = shop.add_product(products, stock=STOCK[0])
    second = shop.add_product(products, stock=STOCK[1])
    orders = stack.start_orders(mode, products, APP_PRODUCTS_MAX_CONNECTIONS="10", **POOLS)
    carts = _carts(first, second)

    answers = asyncio.run(_burst(shop, orders, carts))

    statuses = Counter(response.status_code for _, _, response in answers)
    unexpected = [
        (r.status_code, r.text[:300]) for _, _, r in answers if r.status_code not in (201, 409)
    ]
    assert not unexpected, f"{mode}: {statuses} {unexpected[:5]}"
    refusals = Counter(r.json()["code"] for _, _, r in answers if r.status_code == 409)
    assert set(refusals) <= {"insufficient_stock"}, refusals
    # The stock ran out mid-burst: both answers occur.
    assert statuses[201] > 0, statuses
    assert statuses[409] > 0, statuses

    created = {r.json()["id"]: cart for _, cart, r in answers if r.status_code == 201}
    users = {user for user, _, r in answers if r.status_code == 201}
    listing = eventually(lambda: _settled(shop, orders, users), timeout=60, interval=0.5)
    assert {o["id"] for o in listing} == set(created)
    assert {o["status"] for o in listing} == {"confirmed"}

    taken = Counter[UUID]()
    for cart in created.values():
        taken.update(cart)
    for product_id, initial in zip((first, second), STOCK, strict=True):
        assert taken[product_id] <= initial  # no oversell
        assert shop.stock(products, product_id) == initial - taken[product_id], product_id
