"""Products dies (SIGKILL) under load: orders fails fast, keeps serving reads, and heals.

Orders reaches products through a small proxy that can hold back confirm
requests, so the kill lands deterministically while orders sit between reserve
and confirm: those orders are answered as pending, and the reconciler must
confirm them once products is back (the holds have a TTL long enough to
survive the outage).
"""

import threading
import time
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

import pytest

from tests.integration.stack import Shop, Stack, eventually
from tests.support.processes import ServiceProcess
from tests.support.proxy import HoldingProxy

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

DEADLINE = 1.5
THRESHOLD = 3
# Generous for a loaded 2-core machine; a call that is sent and retried takes hundreds of ms.
FAST_FAIL = 0.1
INITIAL_STOCK = 30
WORKERS = 3
ATTEMPTS_PER_WORKER = 12
KILL_AFTER = 6  # successful orders before products is killed

CONFIRM = b"/confirm HTTP/1.1"
RESERVATIONS = b"/api/v1/reservations"

PRODUCTS_ENV = {"APP_RESERVATION_TTL_SECONDS": "120", "APP_SWEEP_INTERVAL_SECONDS": "0.3"}


@dataclass(frozen=True)
class Attempt:
    """One POST /orders of the load loop."""

    key: str
    started: float
    elapsed: float
    status: int
    body: dict[str, Any]
    retry_after: str | None


@dataclass
class Load:
    """A few workers, each a bounded loop of one-unit orders; the first also reads."""

    stack: Stack
    orders: ServiceProcess
    user: str
    product_id: UUID
    attempts: list[Attempt] = field(default_factory=list)
    read_statuses: list[int] = field(default_factory=list)
    enough_placed: threading.Event = field(default_factory=threading.Event)

    def worker(self, reads: bool) -> None:
        shop = self.stack.client()
        try:
            self._loop(shop, reads)
        finally:
            shop.close()

    def _loop(self, shop: Shop, reads: bool) -> None:
        last_order: str | None = None
        for _ in range(ATTEMPTS_PER_WORKER):
            key = uuid4().hex
            started = time.monotonic()
            response = shop.place(self.orders, self.user, {self.product_id: 1}, key=key)
            elapsed = time.monotonic() - started
            retry_after = response.headers.get("Retry-After")
            body = response.json()
            self.attempts.append(
                Attempt(key, started, elapsed, response.status_code, body, retry_after)
            )
            if response.status_code == 201:
                last_order = body["id"]
                if sum(a.status == 201 for a in self.attempts) >= KILL_AFTER:
                    self.enough_placed.set()
            if reads and last_order is not None:
                self.read_statuses.append(
                    shop.get(self.orders, self.user, f"/{last_order}").status_code
                )
                self.read_statuses.append(shop.get(self.orders, self.user).status_code)


def _breaker_state(shop: Shop, orders: ServiceProcess) -> float:
    samples = shop.metric_samples(orders, "orders_product_client_breaker_state")
    return next(value for labels, value in samples if labels["breaker"] == "products")


def test_products_killed_under_load_fails_fast_then_reconciles(stack: Stack, shop: Shop) -> None:
    products = stack.start_products(PRODUCTS_ENV)
    proxy = HoldingProxy(products.port).start()
    try:
        _kill_products_under_load(stack, shop, products, proxy)
    finally:
        proxy.stop()


def _kill_products_under_load(
    stack: Stack, shop: Shop, products: ServiceProcess, proxy: HoldingProxy
) -> None:
    orders = stack.start_orders(
        "http",
        products,
        APP_PRODUCTS_URL=proxy.url,
        APP_PRODUCTS_DEADLINE_SECONDS=str(DEADLINE),
        APP_PRODUCTS_CONNECT_TIMEOUT="0.5",
        APP_PRODUCTS_READ_TIMEOUT="1.0",
        APP_PRODUCTS_BREAKER_FAILURE_THRESHOLD=str(THRESHOLD),
        APP_PRODUCTS_BREAKER_RESET_SECONDS="5",
        APP_RECONCILE_INTERVAL_SECONDS="0.3",
        APP_RECONCILE_GRACE_SECONDS="1",
    )
    user = f"outage-{uuid4().hex[:8]}"
    product_id = shop.add_product(products, stock=INITIAL_STOCK)

    load = Load(stack, orders, user, product_id)
    workers = [
        threading.Thread(target=load.worker, args=(n == 0,), name=f"order-load-{n}")
        for n in range(WORKERS)
    ]
    try:
        for worker in workers:
            worker.start()
        assert load.enough_placed.wait(timeout=60), "the load never placed its first orders"
        # First park a confirm (its order is saved, its stock held), then every
        # call to products, so that when products dies no reservation is half
        # done: each worker waits in the proxy, at least one of them at confirm.
        proxy.hold(CONFIRM)
        assert proxy.wait_held(1, timeout=10, containing=CONFIRM) >= 1, "no confirm arrived"
        proxy.hold(RESERVATIONS)
        assert proxy.wait_held(WORKERS, timeout=10) >= WORKERS, "a worker never got parked"
        products.kill()
        killed_at = time.monotonic()
        proxy.release()
    finally:
        for worker in workers:
            worker.join(timeout=120)
    assert not any(worker.is_alive() for worker in workers), "the load did not finish"

    # While products is down: every new order is a 503 problem within the deadline,
    # and once the breaker has opened, the answer takes milliseconds.
    after_kill = sorted(
        (a for a in load.attempts if a.started > killed_at), key=lambda a: a.started
    )
    assert len(after_kill) >= WORKERS * ATTEMPTS_PER_WORKER - KILL_AFTER - 2 * WORKERS
    for attempt in after_kill:
        assert attempt.status == 503, attempt
        assert attempt.body["code"] == "products_unavailable", attempt
        assert attempt.retry_after is not None, attempt
        assert int(attempt.retry_after) >= 1, attempt
        assert attempt.elapsed < DEADLINE + 0.5, attempt
    # One failed reservation (its retries included) trips the breaker; requests
    # that start after the first 503 came back must not touch the network.
    tripped_at = min(a.started + a.elapsed for a in after_kill)
    breaker_open = [a.elapsed for a in after_kill if a.started > tripped_at]
    assert len(breaker_open) >= len(after_kill) // 2
    # Under concurrent load on two cores single requests may stall; the typical one is quick.
    assert sorted(breaker_open)[len(breaker_open) // 2] < FAST_FAIL / 2, breaker_open
    # With the load gone, every answer while the breaker is open takes milliseconds.
    assert _breaker_state(shop, orders) == 1  # open
    for _ in range(5):
        started = time.monotonic()
        response = shop.place(orders, user, {product_id: 1})
        elapsed = time.monotonic() - started
        assert response.status_code == 503, response.text
        assert response.json()["code"] == "products_unavailable"
        assert elapsed < FAST_FAIL, elapsed
    assert _breaker_state(shop, orders) == 1
    # Reads never needed products.
    assert load.read_statuses
    assert set(load.read_statuses) == {200}
    # Orders stays ready (reads work) but says what is true about products.
    ready = shop.http.get(f"{orders.url}/health/ready")
    assert ready.status_code == 200
    check = ready.json()["checks"]["products"]
    assert (check["status"], check["mode"], check["breaker"]) == ("degraded", "http", "open")
    assert (check["startup_mode"], check["choosable"]) == ("http", ["http"])

    # Products comes back on the same address; the breaker lets a probe through
    # after its reset time and new orders succeed again (same key: no duplicates).
    stack.start_products(PRODUCTS_ENV, port=products.port)
    recovery_key = uuid4().hex

    def place_again() -> dict[str, Any] | None:
        response = shop.place(orders, user, {product_id: 1}, key=recovery_key)
        return response.json() if response.status_code in (200, 201) else None

    recovered = eventually(place_again, timeout=20, interval=0.25)
    assert recovered["status"] == "confirmed"

    # Pending orders get confirmed or failed by the reconciler, abandoned holds
    # lapse, and the stock adds up: nothing oversold, nothing lost.
    def settled() -> tuple[list[dict[str, Any]], int] | None:
        listing = shop.all_orders(orders, user)
        if any(o["status"] == "pending" for o in listing):
            return None
        confirmed = 0
        for item in listing:
            if item["status"] == "confirmed":
                detail = shop.get(orders, user, f"/{item['id']}").json()
                confirmed += sum(line["quantity"] for line in detail["items"])
        available = shop.stock(products, product_id)
        return (listing, available) if confirmed + available == INITIAL_STOCK else None

    listing, available = eventually(settled, timeout=30, interval=0.3)
    # The holds outlived the outage, so the reconciler confirmed every pending order.
    assert {o["status"] for o in listing} == {"confirmed"}
    assert available >= 0

    pending_at_kill = [
        a for a in load.attempts if a.status == 201 and a.body["status"] == "pending"
    ]
    assert len(pending_at_kill) >= 1, "the kill left no order pending"
    created = [a.body["id"] for a in load.attempts if a.status == 201]
    assert len(created) == len(set(created)) >= KILL_AFTER
    assert sorted(o["id"] for o in listing) == sorted([*created, recovered["id"]])
