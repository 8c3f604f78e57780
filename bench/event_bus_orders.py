"""Orders placed per second with ``APP_EVENT_BUS=local`` vs ``rabbitmq``, in-process, A/B.

One orders app (local products client, PostgreSQL, outbox relay on) per round,
driven over ASGI by C concurrent clients placing one-item orders; rounds
alternate local and rabbitmq so background load falls on both alike. In
rabbitmq mode the relay publishes (with confirms) to a throw-away exchange;
nobody consumes, so this measures the producer side only. Prints orders/s per
round and the ratio of the medians.

    uv run python bench/event_bus_orders.py   # PostgreSQL from TEST_DATABASE_URL, RabbitMQ on :5672
"""

import argparse
import asyncio
import statistics
import time
import uuid
from decimal import Decimal
from typing import Any

import aio_pika
import httpx
from asgi_lifespan import LifespanManager

from orders.adapters.db.migrate import upgrade_orders_database
from orders.config import Settings
from orders.main import create_app
from products.facade import ProductsFacade, upgrade_products_database
from servicekit.auth import mint_user_token
from servicekit.settings import Environment
from servicekit.testing import fresh_postgres_database
from shop_contracts.products import ProductCreate

URL = "amqp://guest:guest@127.0.0.1:5672/"


async def _round(
    mode: str, orders_url: str, products_url: str, product_id: str, n: int, c: int
) -> float:
    exchange = f"bench.{uuid.uuid4().hex[:8]}"
    values: dict[str, Any] = {
        "environment": Environment.TESTING, "database_url": orders_url, "log_json": False,
        "products_client": "local", "products_database_url": products_url,
        "run_products_sweeper": False, "run_reconciler": False, "event_bus": mode,
        "rabbitmq_url": URL, "events_exchange": exchange, "db_pool_size": 8,
    }  # fmt: skip
    settings = Settings(**values)
    app = create_app(settings)
    headers = {
        "Authorization": f"Bearer {mint_user_token(settings, 'bench', (), email='b@example.com')}"
    }
    body = {"items": [{"product_id": product_id, "quantity": 1}]}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(i)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://orders") as http:

            async def client() -> None:
                while not queue.empty():
                    queue.get_nowait()
                    key = {"Idempotency-Key": uuid.uuid4().hex}
                    response = await http.post("/api/v1/orders", json=body, headers=headers | key)
                    assert response.status_code == 201, response.text

            started = time.perf_counter()
            await asyncio.gather(*(client() for _ in range(c)))
            elapsed = time.perf_counter() - started
    if mode == "rabbitmq":
        connection = await aio_pika.connect(URL)
        channel = await connection.channel()
        await channel.exchange_delete(exchange)
        await connection.close()
    return n / elapsed


async def _main(rounds: int, n: int, c: int, orders_url: str, products_url: str) -> None:
    await upgrade_orders_database(orders_url)
    await upgrade_products_database(products_url)
    facade = ProductsFacade.from_database_url(products_url, pool_size=2)
    product = await facade.create_product(
        ProductCreate(
            sku=f"B-{uuid.uuid4().hex[:8]}", name="Bench", price=Decimal("1.00"), stock=10**9
        )
    )
    await facade.aclose()
    rates: dict[str, list[float]] = {"local": [], "rabbitmq": []}
    for _ in range(rounds):
        for mode in ("local", "rabbitmq"):
            rate = await _round(mode, orders_url, products_url, str(product.id), n, c)
            rates[mode].append(rate)
            print(f"{mode:9} {rate:6.1f} orders/s")
    local, rabbit = statistics.median(rates["local"]), statistics.median(rates["rabbitmq"])
    print(
        f"median: local {local:.1f}, rabbitmq {rabbit:.1f} orders/s; rabbitmq/local = {rabbit / local:.2f}"
    )


def main() -> None:
    """Parse arguments and run the A/B."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    with (
        fresh_postgres_database("bench_bus_orders") as orders_url,
        fresh_postgres_database("bench_bus_products") as products_url,
    ):
        asyncio.run(_main(args.rounds, args.orders, args.concurrency, orders_url, products_url))


if __name__ == "__main__":
    main()
