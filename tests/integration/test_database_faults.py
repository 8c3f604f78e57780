"""The database blinks under load: every answer is the truth or a 503 to retry, never a 500.

The test owns its PostgreSQL (a cluster of its own on a free 127.0.0.1 port under a
temporary folder; the shared server is never touched), runs both services on it,
and while 8 users order in a closed loop it restarts the server (fast shutdown),
terminates every backend of both databases, and kills the postmaster (SIGKILL),
starting it again 5 s later. In local and in http mode (issue #29, ADR 0019).
"""

import asyncio
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest

from servicekit.devidp import JwksServer
from tests.integration.stack import Databases, Shop, Stack, eventually
from tests.support.owned_postgres import OwnedPostgres, owned_postgres
from tests.support.processes import ServiceProcess, run_cli

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(240)]

USERS = 8
PRODUCTS = 3
INITIAL_STOCK = 100_000
TTL_SECONDS = 6
WARM_UP = 3.0  # seconds of load before the first fault
BETWEEN_FAULTS = 4.0
POSTMASTER_DEAD_FOR = 5.0
AFTER_LAST_FAULT = 5.0  # seconds of load once the database answers again
RECOVERY_BOUND = 5.0  # from "the database answers" to the next 201
ANSWERS = frozenset({200, 201, 409, 503})
ORDERS_DB = "faults_orders"
PRODUCTS_DB = "faults_products"


@dataclass(frozen=True)
class Attempt:
    """One request of the load, and what it was answered."""

    user: str
    key: str
    lines: dict[UUID, int]
    started: float
    status: int
    body: dict[str, Any]


@dataclass
class Load:
    """USERS threads, each ordering in a closed loop until told to stop."""

    stack: Stack
    orders: ServiceProcess
    product_ids: list[UUID]
    stop: threading.Event = field(default_factory=threading.Event)
    attempts: list[Attempt] = field(default_factory=list)
    reads: list[int] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)

    def run(self, user: str) -> None:
        shop = self.stack.client()
        rng = random.Random(user)
        try:
            while not self.stop.is_set():
                lines = {rng.choice(self.product_ids): rng.randint(1, 3)}
                attempt = self.place(shop, user, uuid4().hex, lines)
                if attempt.status in (200, 201):
                    read = shop.get(self.orders, user, f"/{attempt.body['id']}")
                    self.reads.append(read.status_code)
                elif attempt.status == 503:
                    time.sleep(0.5)  # a client backs off (and retries this key later)
        except BaseException as exc:  # reported by the test, not lost in a thread
            self.errors.append(exc)
        finally:
            shop.close()

    def place(self, shop: Shop, user: str, key: str, lines: dict[UUID, int]) -> Attempt:
        started = time.monotonic()
        response = shop.place(self.orders, user, lines, key=key)
        attempt = Attempt(user, key, lines, started, response.status_code, response.json())
        self.attempts.append(attempt)
        return attempt


async def _fetch(url: str, query: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql", 1))
    try:
        rows: list[asyncpg.Record] = await conn.fetch(query)
        return rows
    finally:
        await conn.close()


def _rows(url: str, query: str) -> list[asyncpg.Record]:
    return asyncio.run(_fetch(url, query))


@pytest.fixture
def server() -> Iterator[OwnedPostgres]:
    try:
        with owned_postgres() as owned:
            yield owned
    except LookupError as exc:
        pytest.skip(str(exc))


@pytest.fixture
def fault_stack(server: OwnedPostgres, tmp_path: Path) -> Iterator[Stack]:
    databases = Databases(
        products=server.create_database(PRODUCTS_DB), orders=server.create_database(ORDERS_DB)
    )
    base = {"APP_ENVIRONMENT": "testing", "APP_LOG_JSON": "true"}
    run_cli(
        "products.entrypoints.cli", "migrate", env={**base, "APP_DATABASE_URL": databases.products}
    )
    run_cli(
        "orders.entrypoints.cli",
        "migrate",
        env={**base, "APP_DATABASE_URL": databases.orders, "APP_PRODUCTS_CLIENT": "http"},
    )
    identity_provider = JwksServer().start()
    stack = Stack(databases, log_dir=tmp_path / "logs", identity_provider=identity_provider)
    try:
        yield stack
    finally:
        stack.stop_all()
        identity_provider.stop()


def _seed(server: OwnedPostgres, stack: Stack) -> list[UUID]:
    """Products with plenty of stock, written straight into products' database."""
    ids = [uuid4() for _ in range(PRODUCTS)]
    values = ", ".join(
        f"('{pid}', 'FAULT-{pid.hex[:12]}', 'Fault {n}', '', 1250, 'EUR', {INITIAL_STOCK}, now(), now())"
        for n, pid in enumerate(ids)
    )
    _rows(
        stack.databases.products,
        "INSERT INTO products (id, sku, name, description, price_minor, currency, stock,"
        f" created_at, updated_at) VALUES {values}",
    )
    return ids


@pytest.mark.parametrize("mode", ["local", "http"])
def test_database_faults_under_load_answer_the_truth_or_503(
    mode: str, server: OwnedPostgres, fault_stack: Stack
) -> None:
    try:
        _faults_under_load(mode, server, fault_stack)
    except BaseException:
        print(fault_stack.logs()[-200_000:])
        print(server.log_path.read_text(errors="replace")[-20_000:])
        raise


def _faults_under_load(mode: str, server: OwnedPostgres, stack: Stack) -> None:
    product_ids = _seed(server, stack)
    background = {
        "APP_RECONCILE_INTERVAL_SECONDS": "0.5",
        "APP_RECONCILE_GRACE_SECONDS": "1",
        "APP_PRODUCTS_RESERVATION_TTL_SECONDS": str(TTL_SECONDS),
        "APP_PRODUCTS_SWEEP_INTERVAL_SECONDS": "0.5",
    }
    products = None
    if mode == "http":
        products = stack.start_products(
            {"APP_RESERVATION_TTL_SECONDS": str(TTL_SECONDS), "APP_SWEEP_INTERVAL_SECONDS": "0.5"}
        )
    orders = stack.start_orders(mode, products, **background)
    load = Load(stack, orders, product_ids)
    threads = [
        threading.Thread(target=load.run, args=(f"fault-{mode}-{n}",), name=f"load-{n}")
        for n in range(USERS)
    ]
    for thread in threads:
        thread.start()
    try:
        time.sleep(WARM_UP)
        server.restart_fast()
        time.sleep(BETWEEN_FAULTS)
        assert server.terminate_backends([ORDERS_DB, PRODUCTS_DB]) >= 1
        time.sleep(BETWEEN_FAULTS)
        server.kill_postmaster()
        time.sleep(POSTMASTER_DEAD_FOR)
        server.start()
        back_at = time.monotonic()
        time.sleep(AFTER_LAST_FAULT)
    finally:
        load.stop.set()
        for thread in threads:
            thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "the load did not stop"
    assert not load.errors, load.errors

    statuses = {a.status for a in load.attempts}
    assert statuses <= ANSWERS, [a for a in load.attempts if a.status not in ANSWERS][:5]
    assert set(load.reads) <= {200, 503}
    assert all(a.body["code"] == "insufficient_stock" for a in load.attempts if a.status == 409)
    assert sum(a.status == 201 for a in load.attempts) >= USERS, "the load placed few orders"
    unavailable = [a for a in load.attempts if a.status == 503]
    assert unavailable, "no fault reached a client: the test proves nothing"
    assert {a.body["code"] for a in unavailable} <= {"database_unavailable", "products_unavailable"}

    # Recovery without a restart, within a few seconds of the database answering.
    first_after = min(a.started for a in load.attempts if a.status == 201 and a.started >= back_at)
    assert first_after - back_at < RECOVERY_BOUND

    # Every 503 retried once with the same key and body: the order's true state or a refusal.
    shop = stack.client()
    try:
        retries = [load.place(shop, a.user, a.key, a.lines) for a in unavailable]
    finally:
        shop.close()
    assert {r.status for r in retries} <= {200, 201, 409}, [r for r in retries if r.status >= 500]

    _assert_invariants(stack, load, product_ids)
    assert orders.returncode is None
    assert products is None or products.returncode is None


def _assert_invariants(stack: Stack, load: Load, product_ids: list[UUID]) -> None:
    orders_url, products_url = stack.databases.orders, stack.databases.products
    created = {a.body["id"] for a in load.attempts if a.status in (200, 201)}

    def settled() -> bool | None:
        pending = _rows(orders_url, "SELECT count(*) FROM orders WHERE status = 'pending'")
        held = _rows(products_url, "SELECT count(*) FROM reservations WHERE status = 'held'")
        outbox = _rows(orders_url, "SELECT count(*) FROM outbox WHERE status <> 'dispatched'")
        return True if pending[0][0] == held[0][0] == outbox[0][0] == 0 else None

    # The reconciler settles pending orders, the sweeper returns lapsed holds, the relay
    # dispatches every event.
    eventually(settled, timeout=TTL_SECONDS + 20, interval=0.5)

    stored = {str(r["id"]) for r in _rows(orders_url, "SELECT id FROM orders")}
    assert created <= stored, "an answered order is missing"
    twins = _rows(
        orders_url,
        "SELECT user_id, idempotency_key FROM orders GROUP BY 1, 2 HAVING count(*) > 1",
    )
    assert twins == []
    sold = {
        r["product_id"]: r["units"]
        for r in _rows(
            products_url,
            "SELECT l.product_id, sum(l.quantity) AS units FROM reservations r"
            " JOIN reservation_lines l ON l.reservation_id = r.id"
            " WHERE r.status = 'confirmed' GROUP BY 1",
        )
    }
    ordered = {
        r["product_id"]: r["units"]
        for r in _rows(
            orders_url,
            "SELECT i.product_id, sum(i.quantity) AS units FROM orders o"
            " JOIN order_items i ON i.order_id = o.id WHERE o.status = 'confirmed' GROUP BY 1",
        )
    }
    assert sold == ordered, "confirmed stock and confirmed orders disagree"
    available = {r["id"]: r["stock"] for r in _rows(products_url, "SELECT id, stock FROM products")}
    for product_id in product_ids:
        assert available[product_id] + sold.get(product_id, 0) == INITIAL_STOCK
