"""The canary fallback build_seam wires: products' outcomes, orders' flag store and bulkhead."""

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import httpx
import pytest
import respx
from fakes import FakeProductClient

from cutover.flags import FALLBACK_ACTOR, InMemoryFlagStore
from orders.adapters.product_clients.backpressure import BulkheadFull
from orders.adapters.product_clients.factory import ProductClients, ProductsSeam, build_seam
from orders.adapters.product_clients.http import HttpProductClient
from orders.adapters.product_clients.metrics import PROTECTION
from orders.bootstrap.flags import ORDERS_FLAGS
from orders.config import FeatureFlags, ProductsClientMode, Settings
from orders.domain.product_client import ProductServiceClient
from seam import Fallback, Thresholds, work_started
from servicekit.clock import ManualClock
from servicekit.http_client.protect import Bulkhead, CircuitBreaker
from shop_contracts.errors import ErrorCode, InsufficientStock, ProductsUnavailable
from shop_contracts.reservations import ReservationLineRequest

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
LIMITS = Thresholds(window_seconds=60, min_calls=10, max_error_rate=0.2, max_p95_seconds=1.0)
CANARY = FeatureFlags(products_client=ProductsClientMode.CANARY, canary_share=50)


class RecordingStore(InMemoryFlagStore[FeatureFlags]):
    """Remembers every write, as ``(updates, actor, reason)``."""

    def __init__(self, defaults: FeatureFlags, clock: ManualClock) -> None:
        super().__init__(ORDERS_FLAGS, defaults, clock=clock)
        self.writes: list[tuple[dict[str, object | None], str, str]] = []

    async def change(
        self, updates: Mapping[str, object | None], *, actor: str, reason: str
    ) -> FeatureFlags:
        self.writes.append((dict(updates), actor, reason))
        return await super().change(updates, actor=actor, reason=reason)


Build = Callable[[ProductClients, FeatureFlags], tuple[ProductsSeam, RecordingStore]]


@pytest.fixture
async def build(make_settings: Callable[..., Settings]) -> AsyncIterator[Build]:
    """A seam as ``main`` builds it, over a store starting at the given flags; closed after."""
    settings = make_settings(
        canary_fallback_window_seconds=LIMITS.window_seconds,
        canary_fallback_min_calls=LIMITS.min_calls,
        canary_fallback_max_error_rate=LIMITS.max_error_rate,
        canary_fallback_max_p95_seconds=LIMITS.max_p95_seconds,
    )
    async with AsyncExitStack() as stack:

        def seam(
            clients: ProductClients, flags: FeatureFlags
        ) -> tuple[ProductsSeam, RecordingStore]:
            clock = ManualClock(T0)
            store = RecordingStore(flags, clock)
            return build_seam(clients, settings, store, stack, clock), store

        yield seam


def _fallback(seam: ProductsSeam) -> Fallback:
    assert seam.fallback is not None
    return seam.fallback


def _holding(seam: ProductsSeam) -> bool:
    # A call, not the property: mypy would narrow the property across the steps.
    return seam.holding


def _routed(seam: ProductsSeam) -> ProductServiceClient:
    """The http path as routed to canary users: judged by the fallback."""
    assert seam.routed_remote is not None
    return seam.routed_remote


async def test_the_thresholds_are_the_settings(build: Build) -> None:
    local, http = FakeProductClient(), FakeProductClient()
    seam, _ = build(ProductClients(ProductsClientMode.CANARY, local=local, http=http), CANARY)

    assert _fallback(seam).thresholds == LIMITS


async def test_domain_answers_are_not_failures(build: Build) -> None:
    local, http = FakeProductClient(), FakeProductClient()
    seam, store = build(ProductClients(ProductsClientMode.CANARY, local=local, http=http), CANARY)
    mug = http.add(stock=0)
    lines = [ReservationLineRequest(product_id=mug.id, quantity=1)]

    for n in range(30):
        with pytest.raises(InsufficientStock):
            await _routed(seam).reserve(f"k-{n}", lines)
    assert not _holding(seam)
    assert (_fallback(seam).stats().calls, _fallback(seam).stats().failures) == (30, 0)

    http.down = True
    for _ in range(8):
        with pytest.raises(ProductsUnavailable):
            await _routed(seam).get_product(mug.id)

    assert _holding(seam)  # 8 / 38 > 0.2
    await _fallback(seam).settled()
    assert store.current().canary_share == 0
    assert store.overrides()["canary_share"].updated_by == FALLBACK_ACTOR


async def test_the_trip_writes_share_0_and_canary_when_the_mode_was_http(
    build: Build, caplog: pytest.LogCaptureFixture
) -> None:
    local, http = FakeProductClient(down=True), FakeProductClient(down=True)
    flags = FeatureFlags(products_client=ProductsClientMode.HTTP, canary_share=0)
    seam, store = build(ProductClients(ProductsClientMode.CANARY, local=local, http=http), flags)

    with caplog.at_level(logging.WARNING, "seam.fallback"):
        for _ in range(10):
            with pytest.raises(ProductsUnavailable):
                await seam.choose(store.current(), "alice").get_product(uuid4())
        await _fallback(seam).settled()

    [(updates, actor, reason)] = store.writes
    assert (updates, actor) == ({"canary_share": 0, "products_client": "canary"}, FALLBACK_ACTOR)
    assert reason.startswith("http error rate 1.000 (max 0.2), p95 0.0")
    assert reason.endswith("s (max 1.0s) over 10 calls in 60s (min 10)")
    assert store.current().products_client is ProductsClientMode.CANARY
    assert [r.getMessage() for r in caplog.records] == [
        f"canary fallback: {reason}; canary share set to 0"
    ]
    assert local.calls == []  # every call was http's until the trip


async def test_the_http_breaker_opening_trips_it_while_users_are_on_http(build: Build) -> None:
    breaker = CircuitBreaker(
        5, 5.0, name="fallback-test", metrics=PROTECTION, unavailable=ProductsUnavailable
    )
    clients = ProductClients(
        ProductsClientMode.CANARY,
        local=FakeProductClient(),
        http=FakeProductClient(),
        http_breaker=breaker,
    )
    seam, store = build(clients, CANARY)
    seam.publish(store.current())

    breaker.trip("3 calls hung past 5s")

    assert _holding(seam)
    await _fallback(seam).settled()
    assert store.overrides()["canary_share"].reason == (
        "remote client breaker opened: 3 calls hung past 5s"
    )


async def _canary_over_http(
    build: Build, make_client: Callable[..., HttpProductClient], max_wait: float
) -> tuple[ProductsSeam, RecordingStore]:
    """A canary whose http client has a one-slot bulkhead that waits up to ``max_wait``."""
    bulkhead = Bulkhead(
        1,
        max_wait,
        name="products",
        metrics=PROTECTION,
        refused=BulkheadFull,
        work_started=work_started,
    )
    http = make_client(bulkhead=bulkhead, max_attempts=1)
    clients = ProductClients(ProductsClientMode.CANARY, local=FakeProductClient(), http=http)
    return build(clients, CANARY)


async def test_waiting_for_a_bulkhead_slot_is_not_judged(
    build: Build,
    make_client: Callable[..., HttpProductClient],
    router: respx.Router,
    product_body: Callable[..., dict[str, Any]],
) -> None:
    seam, store = await _canary_over_http(build, make_client, 30.0)
    product_id = uuid4()

    async def slow_but_healthy(_: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.02)
        return httpx.Response(200, json=product_body(product_id))

    router.get(f"/products/{product_id}").mock(side_effect=slow_but_healthy)

    # 30 at once through one slot: the last waits about 0.6 s in orders, products 0.02 s.
    await asyncio.gather(*(_routed(seam).get_product(product_id) for _ in range(30)))

    stats = _fallback(seam).stats()
    assert (stats.calls, stats.failures) == (30, 0)
    # The bulkhead's work_started restarts the clock: queueing would put the p95 near 0.55 s.
    assert stats.p95_seconds < 0.25
    assert store.writes == []


async def test_a_bulkhead_rejection_is_not_a_products_failure(
    build: Build,
    make_client: Callable[..., HttpProductClient],
    router: respx.Router,
    product_body: Callable[..., dict[str, Any]],
) -> None:
    seam, store = await _canary_over_http(build, make_client, 0.001)
    product_id = uuid4()
    held, release = asyncio.Event(), asyncio.Event()

    async def holds_the_slot(_: httpx.Request) -> httpx.Response:
        held.set()
        await release.wait()
        return httpx.Response(200, json=product_body(product_id))

    router.get(f"/products/{product_id}").mock(side_effect=holds_the_slot)
    holder = asyncio.create_task(_routed(seam).get_product(product_id))
    await held.wait()

    for _ in range(20):
        with pytest.raises(ProductsUnavailable) as raised:
            await _routed(seam).get_product(product_id)
        # API users see the same problem as before: code, status, Retry-After.
        assert isinstance(raised.value, BulkheadFull)
        assert (raised.value.code, raised.value.status) == (ErrorCode.PRODUCTS_UNAVAILABLE, 503)
        assert raised.value.retry_after == 1

    assert _fallback(seam).stats().calls == 0
    assert not _holding(seam)
    release.set()
    await holder
    assert (_fallback(seam).stats().calls, _fallback(seam).stats().failures) == (1, 0)
    assert store.writes == []


@pytest.mark.parametrize("broken", ["5xx", "refused"])
async def test_products_failing_behind_the_bulkhead_still_trips_it(
    broken: str,
    build: Build,
    make_client: Callable[..., HttpProductClient],
    router: respx.Router,
) -> None:
    seam, store = await _canary_over_http(build, make_client, 30.0)
    product_id = uuid4()
    route = router.get(f"/products/{product_id}")
    if broken == "5xx":
        route.mock(return_value=httpx.Response(503))
    else:
        route.mock(side_effect=httpx.ConnectError("connection refused"))

    for _ in range(LIMITS.min_calls):
        with pytest.raises(ProductsUnavailable) as raised:
            await _routed(seam).get_product(product_id)
        assert not isinstance(raised.value, BulkheadFull)

    assert _holding(seam)
    await _fallback(seam).settled()
    assert store.current().canary_share == 0
