"""What the benchmark runs against: a catalogue with plenty of stock, and past orders."""

import itertools
import random
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from bench.e2e.databases import raw_dsn
from bench.e2e.servers import Secrets, Server
from seam import on_remote

BENCH_USER = "bench-user"
STOCK = 100_000_000
# The orders rows rotate among this many users, so a canary splits their traffic.
BENCH_USERS = 8
# The canary share the bench users are chosen for (the ``canary-50`` rows).
CANARY_SHARE = 50


def bench_users(count: int = BENCH_USERS, share: int = CANARY_SHARE) -> list[str]:
    """``count`` user ids, exactly half of them on http under a ``share`` % canary.

    The first ids of the form ``bench-user-N`` on each side of the canary
    (``orders.adapters.product_clients.seam.on_remote``), alternating http,
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
        side = http if on_remote(user, share) else local
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


# Orders arrive at a steady rate, so a longer history reaches further back rather
# than packing more orders into the same days: 2,000 orders are 30 days.
ORDER_SPACING = timedelta(days=30) / 2_000


async def load_history(orders_db: str, product_ids: Sequence[str], count: int) -> list[str]:
    """Insert ``count`` past orders (2 lines each), every tenth the bench user's; their ids.

    Newest first, one per ``ORDER_SPACING`` back from now (jittered within it),
    with a random status; the rest belong to 97 other users. Loaded with COPY,
    which takes 100x the small set (200,000 orders) in seconds.
    """
    rng = random.Random(count)
    now = datetime.now(UTC)
    statuses = ("confirmed", "paid", "shipped", "delivered", "cancelled")
    mine: list[str] = []
    order_rows: list[tuple[Any, ...]] = []
    item_rows: list[tuple[Any, ...]] = []
    for n in range(count):
        order_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        user = BENCH_USER if n % 10 == 0 else f"user-{n % 97}"
        created = now - ORDER_SPACING * (n + rng.random())
        lines = rng.sample(list(product_ids), 2)
        prices = [rng.randint(100, 9_999) for _ in lines]
        order_rows.append(
            (
                order_id,
                user,
                f"{user}@example.com",
                f"history-{n}",
                "0" * 64,
                uuid.UUID(int=rng.getrandbits(128), version=4),
                rng.choice(statuses),
                "EUR",
                sum(prices),
                1,
                created,
                created,
            )
        )
        item_rows += [
            (order_id, i, uuid.UUID(product), f"Bench product {product[:8]}", 1, price, "EUR")
            for i, (product, price) in enumerate(zip(lines, prices, strict=True), 1)
        ]
        if user == BENCH_USER:
            mine.append(str(order_id))
    conn = await asyncpg.connect(raw_dsn(orders_db))
    try:
        async with conn.transaction():
            await conn.copy_records_to_table("orders", records=order_rows, columns=_ORDER_COLUMNS)
            await conn.copy_records_to_table(
                "order_items", records=item_rows, columns=_ITEM_COLUMNS
            )
    finally:
        await conn.close()
    return mine


_ORDER_COLUMNS = (
    "id", "user_id", "customer_email", "idempotency_key", "request_hash", "reservation_id",
    "status", "currency", "total_minor", "version", "created_at", "updated_at",
)  # fmt: skip
_ITEM_COLUMNS = (
    "order_id", "line_no", "product_id", "product_name", "quantity", "unit_price_minor", "currency",
)  # fmt: skip
