"""A hung products is found in about a second; a slow one is never taken for dead (ADR 0024).

Real processes on PostgreSQL. "Hung" is every products process stopped with
SIGSTOP (the whole process tree): connections stay open, nothing answers.
"Slow" is products behind a proxy that holds every API request 100 ms.

The bounds are answers and generous-but-meaningful times, not speed: a hang
must be told within ``products_hang_seconds`` (1 s) plus the watch's 0.1 s
tick, so a p99 of 1.5 s still fails any design that waits out a deadline
(2 s for reads, 10 s for writes), while leaving room for a loaded two-core
machine; 5 s for the canary to fall back or readiness to follow products'
return is five times what either needs (the readiness check runs every
0.25 s while the breaker is open).
"""

import asyncio
import math
import random
import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from tests.integration.stack import ORDERS, Shop, Stack, eventually
from tests.support.processes import ServiceProcess, signal_tree
from tests.support.proxy import HoldingProxy

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

POOLS = {"APP_DB_POOL_SIZE": "4", "APP_DB_MAX_OVERFLOW": "0"}
USERS = 7
FREEZE_SECONDS = 8.0
SETTLE_SECONDS = 2.0  # the "after the first 2 s"
FAST_503_P99 = 1.5
FALLBACK_WITHIN = 5.0
READY_WITHIN = 5.0


@dataclass(frozen=True)
class Answer:
    """One POST /orders of the load."""

    user: str
    started: float
    elapsed: float
    status: int
    code: str | None


def _load(
    stack: Stack, orders: ServiceProcess, product: UUID, stop: threading.Event
) -> list[Answer]:
    answers: list[Answer] = []
    lock = threading.Lock()

    def user_loop(n: int) -> None:
        shop = stack.client()
        user = f"hang-{n}-{uuid4().hex[:6]}"
        try:
            while not stop.is_set():
                started = time.monotonic()
                response = shop.place(orders, user, {product: 1})
                elapsed = time.monotonic() - started
                code = response.json().get("code") if response.status_code >= 400 else None
                with lock:
                    answers.append(Answer(user, started, elapsed, response.status_code, code))
                if response.status_code == 503:
                    time.sleep(0.05)  # a client backing off a little, not the Retry-After
        finally:
            shop.close()

    threads = [threading.Thread(target=user_loop, args=(n,)) for n in range(USERS)]
    for thread in threads:
        thread.start()
    stop.wait()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a user loop did not stop"
    return answers


def _run_load_while_frozen(
    stack: Stack, orders: ServiceProcess, products: ServiceProcess, product: UUID
) -> tuple[float, list[Answer]]:
    stop = threading.Event()
    result: list[list[Answer]] = []
    runner = threading.Thread(
        target=lambda: result.append(_load(stack, orders, product, stop)), name="hang-load"
    )
    runner.start()
    time.sleep(1.0)  # users ordering against a healthy products first
    signal_tree(products, signal.SIGSTOP)
    frozen_at = time.monotonic()
    try:
        time.sleep(FREEZE_SECONDS)
    finally:
        stop.set()
        runner.join(timeout=90)
    return frozen_at, result[0]


def _products_check(shop: Shop, orders: ServiceProcess) -> dict[str, Any]:
    response = shop.http.get(f"{orders.url}/health/ready")
    assert response.status_code == 200, response.text
    check: dict[str, Any] = response.json()["checks"]["products"]
    return check


def _p99(values: list[float]) -> float:
    """Nearest-rank 99th percentile."""
    ordered = sorted(values)
    return ordered[math.ceil(0.99 * len(ordered)) - 1]


def _metric(shop: Shop, process: ServiceProcess, name: str, **labels: str) -> float:
    return sum(
        value
        for got, value in shop.metric_samples(process, name)
        if all(got.get(k) == v for k, v in labels.items())
    )


def test_frozen_products_in_http_mode_fails_fast_and_readiness_follows_its_return(
    stack: Stack, shop: Shop
) -> None:
    products = stack.start_products(POOLS)
    product = shop.add_product(products, stock=100_000)
    orders = stack.start_orders("http", products, **POOLS)
    try:
        frozen_at, answers = _run_load_while_frozen(stack, orders, products, product)
        check_frozen = _products_check(shop, orders)
    finally:
        signal_tree(products, signal.SIGCONT)
    resumed_at = time.monotonic()

    before = [a for a in answers if a.started + a.elapsed < frozen_at]
    assert before
    assert {a.status for a in before} == {201}, Counter(a.status for a in before)
    during = [a for a in answers if a.started >= frozen_at]
    assert during, "no order was placed while products was frozen"
    assert {(a.status, a.code) for a in during} == {(503, "products_unavailable")}
    settled = [a.elapsed for a in during if a.started >= frozen_at + SETTLE_SECONDS]
    assert len(settled) >= 50, len(settled)
    assert _p99(settled) <= FAST_503_P99, sorted(settled)[-5:]
    # The ones caught in flight by the freeze were cut by the hang watch, not the deadline.
    caught = [a for a in answers if a.started < frozen_at < a.started + a.elapsed]
    assert all(a.elapsed < frozen_at - a.started + 3.0 for a in caught), caught
    assert check_frozen["breaker"] == "open", check_frozen
    assert check_frozen["status"] == "degraded"
    # Opened first by the hang watch (later re-opened by failed half-open probes).
    assert "products hung: no answer from products" in orders.read_log()

    # No user traffic from here on: readiness alone must see products back.
    def back() -> dict[str, Any] | None:
        check = _products_check(shop, orders)
        probe = check.get("probe", {})
        return check if check["breaker"] == "closed" and probe.get("ready") else None

    check = eventually(back, timeout=READY_WITHIN + 5, interval=0.1)
    seen_after = time.monotonic() - resumed_at
    assert seen_after <= READY_WITHIN, seen_after
    assert check["status"] == "up", check
    assert shop.place(orders, "hang-after", {product: 1}).status_code == 201
    print(
        f"http frozen: {len(settled)} settled 503s, p99 {_p99(settled):.3f}s,"
        f" max {max(settled):.3f}s; readiness saw products back after {seen_after:.2f}s"
    )


def test_frozen_products_at_canary_100_falls_back_to_local_within_seconds(
    stack: Stack, shop: Shop
) -> None:
    products = stack.start_products(POOLS)
    product = shop.add_product(products, stock=100_000)
    orders = stack.start_orders("canary", products, APP_CANARY_SHARE="100", **POOLS)
    try:
        frozen_at, answers = _run_load_while_frozen(stack, orders, products, product)
        check = _products_check(shop, orders)
        # Still frozen: a new user is served, locally.
        late = shop.place(orders, "hang-late-user", {product: 1})
    finally:
        signal_tree(products, signal.SIGCONT)

    assert _metric(shop, orders, "orders_canary_fallback_trips") == 1
    assert "fallback" in check, check
    assert check["canary_share"] == 0, check
    assert "breaker opened" in check["fallback"]["reason"], check
    after = [a for a in answers if a.started >= frozen_at]
    first_local = min(a.started + a.elapsed for a in after if a.status == 201)
    assert first_local - frozen_at <= FALLBACK_WITHIN, first_local - frozen_at
    served_late = [a for a in after if a.started >= frozen_at + FALLBACK_WITHIN]
    assert served_late
    assert {a.status for a in served_late} == {201}
    assert late.status_code == 201, late.text
    assert {a.status for a in after} <= {201, 503}
    print(f"canary frozen: first local 201 {first_local - frozen_at:.2f}s after the freeze")


# A slowed but alive products under a burst: back-pressure, never "dead".

BURST = 300
BURST_STOCK = (70, 50)
DELAY = 0.1
REQUEST_TIMEOUT = 90.0
# With DELAY per call and the bulkhead at 10, products serves at most ~100
# calls/s, about 33 placements/s (lookup-free: reserve + confirm, plus reads);
# 300 placements arriving at once is well over 3 times what it serves in a second.
SLOW_POOLS = {
    "APP_DB_POOL_SIZE": "5",
    "APP_DB_MAX_OVERFLOW": "5",
    "APP_PRODUCTS_MAX_CONNECTIONS": "10",
}


async def _burst_with_retries(
    shop: Shop, orders: ServiceProcess, carts: list[dict[UUID, int]]
) -> tuple[list[tuple[str, dict[UUID, int], httpx.Response]], list[float]]:
    users = [f"slow-{uuid4().hex[:8]}" for _ in range(6)]
    headers = {user: shop.auth(user) for user in users}
    start = asyncio.Event()
    pushed_back: list[float] = []
    limits = httpx.Limits(max_connections=BURST, max_keepalive_connections=BURST)
    async with httpx.AsyncClient(
        base_url=orders.url, timeout=REQUEST_TIMEOUT, limits=limits
    ) as http:

        async def place(
            n: int, cart: dict[UUID, int]
        ) -> tuple[str, dict[UUID, int], httpx.Response]:
            user = users[n % len(users)]
            key = uuid4().hex
            await start.wait()
            while True:
                began = time.monotonic()
                response = await http.post(
                    ORDERS,
                    json={
                        "items": [{"product_id": str(p), "quantity": q} for p, q in cart.items()]
                    },
                    headers={**headers[user], "Idempotency-Key": key},
                )
                if response.status_code != 503:
                    return user, cart, response
                # Back-pressure: a fast 503 the client retries with its key.
                pushed_back.append(time.monotonic() - began)
                assert response.json()["code"] == "products_unavailable", response.text
                await asyncio.sleep(float(response.headers.get("Retry-After", "1")))

        calls = [asyncio.create_task(place(n, cart)) for n, cart in enumerate(carts)]
        await asyncio.sleep(0)
        start.set()
        async with asyncio.timeout(4 * REQUEST_TIMEOUT):
            return await asyncio.gather(*calls), pushed_back


@pytest.mark.parametrize("mode", ["http", "canary"])
def test_a_slow_products_under_a_burst_gets_back_pressure_never_a_trip(
    stack: Stack, shop: Shop, mode: str
) -> None:
    products = stack.start_products(POOLS)
    first = shop.add_product(products, stock=BURST_STOCK[0])
    second = shop.add_product(products, stock=BURST_STOCK[1])
    proxy = HoldingProxy(products.port).start()
    try:
        extra = {"APP_CANARY_SHARE": "100"} if mode == "canary" else {}
        orders = stack.start_orders(
            mode, products, APP_PRODUCTS_URL=proxy.url, **SLOW_POOLS, **extra
        )
        # A few calls at full speed first, so the baseline is products' normal pace.
        for _ in range(20):
            shop.place(orders, "slow-warmup", {first: 1})
        proxy.delay_seconds = DELAY
        shapes: list[dict[UUID, int]] = [{first: 1}, {second: 1}, {first: 1, second: 1}]
        pick = random.Random(24)
        carts = [pick.choice(shapes) for _ in range(BURST)]
        answers, pushed_back = asyncio.run(_burst_with_retries(shop, orders, carts))
    finally:
        proxy.delay_seconds = 0.0

    try:
        statuses = Counter(r.status_code for _, _, r in answers)
        assert set(statuses) <= {201, 409}, statuses
        assert statuses[201] > 0, statuses
        assert statuses[409] > 0, statuses
        # Never taken for dead: the breaker never opened, the canary never fell back.
        assert _metric(shop, orders, "orders_product_client_breaker_transitions", state="open") == 0
        assert _metric(shop, orders, "orders_canary_fallback_trips") == 0
        # Back-pressure, when there was any, came back fast.
        assert all(seconds < 5.0 for seconds in pushed_back), sorted(pushed_back)[-5:]

        created = {r.json()["id"]: cart for _, cart, r in answers if r.status_code == 201}
        users = {user for user, _, r in answers if r.status_code == 201} | {"slow-warmup"}

        def settled() -> list[dict[str, Any]] | None:
            listing = [o for u in sorted(users) for o in shop.all_orders(orders, u)]
            return None if any(o["status"] == "pending" for o in listing) else listing

        listing = eventually(settled, timeout=60, interval=0.5)
        assert {o["status"] for o in listing} == {"confirmed"}
        taken = Counter[UUID]()
        for cart in created.values():
            taken.update(cart)
        taken[first] += 20  # the warm-up
        for product_id, initial in zip((first, second), BURST_STOCK, strict=True):
            assert taken[product_id] <= initial  # no oversell
            # Nothing held for a request that did not become an order.
            assert shop.stock(products, product_id) == initial - taken[product_id]
    finally:
        proxy.stop()
    print(
        f"{mode}: {dict(statuses)}, {len(pushed_back)} back-pressure 503s"
        f" (max {max(pushed_back, default=0):.3f}s)"
    )
