"""Orders' own CPU per quote and per placement, in-process (BENCHMARKS.md, ADR 0022).

uv run python bench/request_cost.py [--rounds 7] [--requests 500] [--relay] [--profile]
"""

# One orders app in local mode (the bench's production settings: HS256 tokens,
# products in-process, pools of 10; the outbox relay, the reconciler and products'
# sweeper off unless --relay, so a figure is the request's own work) on fresh
# PostgreSQL databases on the server of TEST_DATABASE_URL, with a seeded catalogue.
# Each round sends --requests quotes (3 lines), as many placements (2 lines) and as
# many GET /health/live (the floor: client, middleware, routing) through
# httpx.ASGITransport, one at a time, rotating over 8 users as `just bench` does; the
# order of the paths reverses round by round so machine noise falls on all alike.
# Each line is the median over rounds of time.process_time() per request (the whole
# process: the client's share too, the same in every path). --profile then prints,
# per path, a cProfile summary by CPU time (cumulative, top 40 unless --sort/--top)
# of --requests more requests.

import argparse
import asyncio
import cProfile
import io
import itertools
import os
import pstats
import random
import secrets
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import uvloop
from asgi_lifespan import LifespanManager
from pydantic import SecretStr

from orders.adapters.db.migrate import upgrade_orders_database
from orders.config import Settings
from orders.main import create_app
from products.facade import ProductsFacade, upgrade_products_database
from servicekit.auth import mint_user_token
from servicekit.settings import Environment
from servicekit.testing import fresh_postgres_database
from shop_contracts.products import ProductCreate

PRODUCTS = 100
USERS = 8

Send = Callable[[], Awaitable[None]]


async def _catalogue(products_url: str) -> list[str]:
    facade = ProductsFacade.from_database_url(products_url, pool_size=2)
    try:
        ids = []
        for n in range(PRODUCTS):
            created = await facade.create_product(
                ProductCreate(
                    sku=f"COST-{n:04d}",
                    name=f"Product {n}",
                    price=Decimal(f"{5 + n % 50}.99"),
                    stock=10**9,
                )
            )
            ids.append(str(created.id))
        return ids
    finally:
        await facade.aclose()


def _settings(orders_url: str, products_url: str, relay: bool) -> Settings:
    values: dict[str, Any] = {
        "environment": Environment.PRODUCTION,
        "jwt_secret": SecretStr(secrets.token_urlsafe(48)),
        "jwt_allow_hs256_in_production": True,
        "service_token": SecretStr(secrets.token_urlsafe(36)),
        "log_level": "WARNING",
        "database_url": SecretStr(orders_url),
        "products_client": "local",
        "products_database_url": SecretStr(products_url),
        "db_pool_size": 10,
        "run_outbox_relay": relay,
        "run_reconciler": relay,
        "run_products_sweeper": relay,
    }
    return Settings(**values)


def _senders(http: httpx.AsyncClient, settings: Settings, ids: list[str]) -> dict[str, Send]:
    tokens = [
        {
            "Authorization": f"Bearer {mint_user_token(settings, f'cost-user-{n}', ttl_seconds=6 * 3600)}"
        }
        for n in range(USERS)
    ]
    users = itertools.cycle(tokens)
    picks = random.Random(7)  # the same carts every run

    def cart(lines: int) -> dict[str, object]:
        chosen = picks.sample(ids, lines)
        return {"items": [{"product_id": pid, "quantity": 1} for pid in chosen]}

    async def quote() -> None:
        response = await http.post("/api/v1/orders/quote", json=cart(3), headers=next(users))
        assert response.status_code == 200, response.text

    async def place() -> None:
        headers = {**next(users), "Idempotency-Key": uuid.uuid4().hex}
        response = await http.post("/api/v1/orders", json=cart(2), headers=headers)
        assert response.status_code == 201, response.text

    async def floor() -> None:
        response = await http.get("/health/live")
        assert response.status_code == 200, response.text

    # The floor: the client, the middleware and routing, no authentication, no database.
    return {"floor": floor, "quote": quote, "place order": place}


async def _cpu_ms(send: Send, count: int) -> float:
    start = time.process_time()
    for _ in range(count):
        await send()
    return (time.process_time() - start) / count * 1000


async def _profile(name: str, send: Send, count: int, sort: str, top: int) -> None:
    # Timed by process CPU, so waits on PostgreSQL do not count, as in the figures above.
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    for _ in range(count):
        await send()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats(sort).print_stats(top)
    print(f"\n=== {name}: {count} requests, cProfile by CPU time, by {sort} ===\n{out.getvalue()}")


@dataclass(frozen=True)
class Options:
    """What to measure and how much."""

    rounds: int
    requests: int
    relay: bool
    profile: bool
    sort: str
    top: int


async def _run(orders_url: str, products_url: str, options: Options) -> None:
    await upgrade_orders_database(orders_url)
    await upgrade_products_database(products_url)
    ids = await _catalogue(products_url)
    settings = _settings(orders_url, products_url, options.relay)
    app = create_app(settings)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://orders") as http:
            senders = _senders(http, settings, ids)
            for send in senders.values():  # warm: connections open, statements prepared
                await _cpu_ms(send, 50)
            results: dict[str, list[float]] = {name: [] for name in senders}
            order = list(senders.items())
            for n in range(options.rounds):
                for name, send in order if n % 2 == 0 else order[::-1]:
                    results[name].append(await _cpu_ms(send, options.requests))
                    if options.relay:
                        await asyncio.sleep(0.1)  # the relay finishes the round's events
            load = os.getloadavg()[0]
            print(
                f"{options.rounds} rounds of {options.requests} requests a path; 1-minute load {load:.2f}"
            )
            for name, values in results.items():
                spread = f"{min(values):.3f}-{max(values):.3f}"
                median = statistics.median(values)
                print(f"{name:12} {median:7.3f} ms CPU per request  (rounds {spread})")
            if options.profile:
                for name, send in senders.items():
                    await _profile(name, send, options.requests, options.sort, options.top)


def main() -> None:
    """Parse arguments, create the databases, measure, drop them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--relay", action="store_true", help="background work on, as deployed")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--sort", default="cumulative", help="pstats order of the profile")
    parser.add_argument("--top", type=int, default=40, help="lines of the profile")
    args = parser.parse_args()
    options = Options(args.rounds, args.requests, args.relay, args.profile, args.sort, args.top)
    with (
        fresh_postgres_database("bench_cost_orders") as orders_url,
        fresh_postgres_database("bench_cost_products") as products_url,
        # uvloop, as the services run under uvicorn (bench/e2e/servers.py).
        asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner,
    ):
        runner.run(_run(orders_url, products_url, options))


if __name__ == "__main__":
    main()
