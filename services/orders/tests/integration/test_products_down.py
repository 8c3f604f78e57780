"""Orders in http mode while products is down: fast 503 problems for writes, reads unaffected.

The app runs in-process with its real lifespan (the shipped HTTP product client,
breaker included); products is either a port nobody listens on or a server that
accepts connections and never answers.
"""

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fakes import FakeProductClient
from harness import OrdersApi, make_settings, running_api

from orders.adapters.db.migrate import upgrade_orders_database

DEADLINE = 1.0
READ_TIMEOUT = 0.4
THRESHOLD = 3
MARGIN = 0.5  # scheduling slack on a loaded machine, well under the deadline itself
FAST = 0.05  # an open breaker answers without touching the network


@pytest.fixture
async def orders_db(tmp_path: Path) -> str:
    """A migrated SQLite orders database holding one order placed while products was up."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'orders.db'}"
    await upgrade_orders_database(url)
    return url


def _closed_port() -> int:
    """A 127.0.0.1 port nothing listens on: connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@asynccontextmanager
async def _black_hole() -> AsyncIterator[int]:
    """A server that accepts connections, reads what it is sent, and never answers."""
    handlers: set[asyncio.Task[Any]] = set()

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.add(task)
        try:
            while await reader.read(65_536):
                pass
        finally:
            writer.close()
            handlers.discard(task)

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    try:
        port: int = server.sockets[0].getsockname()[1]
        yield port
    finally:
        server.close()
        for task in list(handlers):
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        await server.wait_closed()


@dataclass(frozen=True)
class DeadProducts:
    """Where products should be, and how long one attempt there takes at least."""

    port: int
    min_first_attempt: float


@pytest.fixture(params=["closed_port", "black_hole"])
async def dead_products(request: pytest.FixtureRequest) -> AsyncIterator[DeadProducts]:
    """Products in one of two broken states: refusing connections, or never answering."""
    if request.param == "closed_port":
        yield DeadProducts(_closed_port(), min_first_attempt=0.0)
        return
    async with _black_hole() as port:
        # Nothing comes back, so the client waits out at least one read timeout.
        yield DeadProducts(port, min_first_attempt=READ_TIMEOUT)


async def _order_placed_while_products_was_up(orders_db: str) -> dict[str, Any]:
    products = FakeProductClient()
    product = products.add(stock=5, price="4.00")
    async with running_api(make_settings(orders_db), product_client=products) as api:
        response = await api.place("alice", [(product.id, 2)])
        assert response.status_code == 201, response.text
        order: dict[str, Any] = response.json()
    assert order["status"] == "confirmed"
    return order


def _http_mode(orders_db: str, port: int) -> Any:
    return make_settings(
        orders_db,
        products_client="http",
        products_url=f"http://127.0.0.1:{port}",
        products_deadline_seconds=DEADLINE,
        products_connect_timeout=0.3,
        products_read_timeout=READ_TIMEOUT,
        products_breaker_failure_threshold=THRESHOLD,
        products_breaker_reset_seconds=60,
    )


async def _timed_place(api: OrdersApi, product_id: str) -> tuple[float, httpx.Response]:
    started = time.monotonic()
    response = await api.http.post(
        "/api/v1/orders",
        json={"items": [{"product_id": product_id, "quantity": 1}]},
        headers={**api.auth("alice"), "Idempotency-Key": f"down-{time.monotonic_ns()}"},
    )
    return time.monotonic() - started, response


def _assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "products_unavailable"
    assert int(response.headers["Retry-After"]) >= 1


async def test_new_orders_fail_fast_and_reads_keep_working_while_products_is_down(
    dead_products: DeadProducts, orders_db: str
) -> None:
    earlier = await _order_placed_while_products_was_up(orders_db)
    product_id = earlier["items"][0]["product_id"]

    async with running_api(_http_mode(orders_db, dead_products.port)) as api:
        # Until the breaker opens, each attempt runs into the dead products
        # service and gives up within the deadline (retries included).
        for attempt in range(THRESHOLD):
            elapsed, response = await _timed_place(api, product_id)
            _assert_unavailable(response)
            assert elapsed < DEADLINE + MARGIN, elapsed
            if attempt == 0:
                assert elapsed >= dead_products.min_first_attempt, elapsed
        ready = await api.http.get("/health/ready")
        assert ready.status_code == 200, ready.text
        assert "open" in ready.text

        fast = []
        for _ in range(5):
            elapsed, response = await _timed_place(api, product_id)
            _assert_unavailable(response)
            # Far below one network attempt even if the machine stalls us once.
            assert elapsed < DEADLINE / 4, elapsed
            fast.append(elapsed)
        assert sorted(fast)[len(fast) // 2] < FAST, fast

        listing = await api.http.get("/api/v1/orders", headers=api.auth("alice"))
        assert listing.status_code == 200, listing.text
        assert [item["id"] for item in listing.json()["items"]] == [earlier["id"]]
        detail = await api.http.get(f"/api/v1/orders/{earlier['id']}", headers=api.auth("alice"))
        assert detail.status_code == 200, detail.text
        assert detail.json()["status"] == "confirmed"
