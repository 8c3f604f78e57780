"""What the benchmark runs against: a catalogue with plenty of stock, and past orders."""

import itertools
import random
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import create_async_engine

from bench.e2e.servers import Secrets, Server
from orders.adapters.product_clients.routing import on_http

BENCH_USER = "bench-user"
STOCK = 100_000_000
# The orders rows rotate among this many users, so a canary splits their traffic.
BENCH_USERS = 8
# The canary share the bench users are chosen for (the ``canary-50`` rows).
CANARY_SHARE = 50


def bench_users(count: int = BENCH_USERS, share: int = CANARY_SHARE) -> list[str]:
    """``count`` user ids, exactly half of them on http under a ``share`` % canary.

    The first ids of the form ``bench-user-N`` on each side of the canary
    (``orders.adapters.product_clients.routing.on_http``), alternating http,
    local, http, ...: the same users every run, and a load generator that
    rotates through them per request sends every other request to http.
    """
    if count < 2 or count % 2:
        raise ValueError(f"an even number of users, at least 2 (got {count})")
    if not 0 < share < 100:
        raise ValueError(f"a share strictly between 0 and 100 splits users (got {share})")
    half = count // 2
    http: list[str] = []
    local: list[str] = []
    for n in itertools.count():
        user = f"{BENCH_USER}-{n}"
        side = http if on_http(user, share) else local
        if len(side) < half:
            side.append(user)
        if len(http) == len(local) == half:
            break
    return [user for pair in zip(http, local, strict=True) for user in pair]


def load_catalogue(products: Server, keys: Secrets, count: int) -> list[str]:
    """Create ``count`` products with plenty of stock through the admin API; their ids."""
    headers = {"Authorization": f"Bearer {keys.token('bench-admin', 'admin')}"}
    ids: list[str] = []
    with httpx.Client(base_url=products.url + "/api/v1", headers=headers, timeout=30) as http:
        for start in range(0, count, 100):
            batch = [
                {
                    "sku": f"BENCH-{n:05d}",
                    "name": f"Bench product {n}",
                    "description": "Benchmark catalogue item",
                    "price": f"{5 + n % 50}.99",
                    "currency": "EUR",
                    "stock": STOCK,
                }
                for n in range(start, min(count, start + 100))
            ]
            response = http.post("/products/bulk", json={"products": batch})
            response.raise_for_status()
            ids += [item["id"] for item in response.json()["created"]]
    return ids


async def load_history(orders_db: str, product_ids: Sequence[str], count: int) -> list[str]:
    """Insert ``count`` past orders (2 lines each), 10 % of them the bench user's; their ids."""
    from orders.adapters.db.tables import order_items, orders

    rng = random.Random(count)
    now = datetime.now(UTC)
    statuses = ("confirmed", "paid", "shipped", "delivered", "cancelled")
    mine: list[str] = []
    engine = create_async_engine(orders_db)
    try:
        async with engine.begin() as conn:
            for start in range(0, count, 2_000):
                order_rows: list[dict[str, Any]] = []
                item_rows: list[dict[str, Any]] = []
                for n in range(start, min(count, start + 2_000)):
                    order_id = uuid.UUID(int=rng.getrandbits(128), version=4)
                    user = BENCH_USER if n % 10 == 0 else f"user-{n % 97}"
                    created = now - timedelta(seconds=rng.uniform(0, 365 * 86_400))
                    lines = rng.sample(list(product_ids), 2)
                    prices = [rng.randint(100, 9_999) for _ in lines]
                    order_rows.append(
                        {
                            "id": order_id,
                            "user_id": user,
                            "customer_email": f"{user}@example.com",
                            "idempotency_key": f"history-{n}",
                            "request_hash": "0" * 64,
                            "reservation_id": uuid.UUID(int=rng.getrandbits(128), version=4),
                            "status": rng.choice(statuses),
                            "currency": "EUR",
                            "total_minor": sum(prices),
                            "version": 1,
                            "created_at": created,
                            "updated_at": created,
                        }
                    )
                    item_rows += [
                        {
                            "order_id": order_id,
                            "line_no": i,
                            "product_id": uuid.UUID(product),
                            "product_name": f"Bench product {product[:8]}",
                            "quantity": 1,
                            "unit_price_minor": price,
                            "currency": "EUR",
                        }
                        for i, (product, price) in enumerate(zip(lines, prices, strict=True), 1)
                    ]
                    if user == BENCH_USER:
                        mine.append(str(order_id))
                await conn.execute(insert(orders), order_rows)
                await conn.execute(insert(order_items), item_rows)
    finally:
        await engine.dispose()
    return mine
