"""CanaryFallback: the http path's window, the trip, the write through the flag store."""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest
import respx
from fakes import FakeProductClient

from orders.adapters.flags.memory import InMemoryFlagStore
from orders.adapters.product_clients.backpressure import BulkheadFull
from orders.adapters.product_clients.factory import ProductClients
from orders.adapters.product_clients.fallback import CanaryFallback
from orders.adapters.product_clients.fallback_window import FallbackThresholds, p95
from orders.adapters.product_clients.guarded import GuardedProductClient
from orders.adapters.product_clients.http import Bulkhead, HttpProductClient
from orders.adapters.product_clients.observed import ObservedProductClient
from orders.adapters.product_clients.routing import ProductClientRouter
from orders.adapters.product_clients.shadow import ShadowProductClient
from orders.application.flags import FALLBACK_ACTOR
from orders.config import FeatureFlags, ProductsClientMode
from orders.domain.product_client import ProductServiceClient
from shop_contracts.errors import ErrorCode, InsufficientStock, ProductsUnavailable
from shop_contracts.reservations import ReservationLineRequest

Metric = Callable[..., float]
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
LIMITS = FallbackThresholds(
    window_seconds=60, min_calls=10, max_error_rate=0.2, max_p95_seconds=1.0
)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class FailingStore(InMemoryFlagStore):
    """Refuses the first ``failures`` writes, as a database that is briefly down would."""

    def __init__(self, defaults: FeatureFlags, failures: int, clock: Clock) -> None:
        super().__init__(defaults, clock=clock)
        self.failures = failures
        self.writes: list[tuple[dict[str, object | None], str, str]] = []

    async def change(
        self, updates: Mapping[str, object | None], *, actor: str, reason: str
    ) -> FeatureFlags:
        self.writes.append((dict(updates), actor, reason))
        if self.failures:
            self.failures -= 1
            raise ConnectionError("database is down")
        return await super().change(updates, actor=actor, reason=reason)


async def _no_sleep(_: float) -> None:
    await asyncio.sleep(0)


def _setup(
    mode: ProductsClientMode = ProductsClientMode.CANARY, share: int = 50, failures: int = 0
) -> tuple[CanaryFallback, FailingStore, Clock]:
    clock = Clock()
    store = FailingStore(FeatureFlags(products_client=mode, canary_share=share), failures, clock)
    fallback = CanaryFallback(store, LIMITS, clock=clock, sleep=_no_sleep)
    return fallback, store, clock


def _holding(fallback: CanaryFallback) -> bool:
    # A call, not the property: mypy would narrow the property across the steps.
    return fallback.holding


def _record(fallback: CanaryFallback, *outcomes: str, seconds: float = 0.01) -> None:
    for outcome in outcomes:
        fallback.record(seconds, outcome)


async def test_an_error_rate_above_the_limit_trips_it(metric: Metric) -> None:
    fallback, store, _ = _setup()
    trips = metric("orders_canary_fallback_trips_total")

    _record(fallback, *["ok"] * 8, "products_unavailable", "error")
    assert not _holding(fallback)  # 2 / 10 = 0.2: not above the limit
    _record(fallback, "error")  # 3 / 11

    assert _holding(fallback)
    await fallback.settled()
    assert metric("orders_canary_fallback_trips_total") == trips + 1
    assert store.current().canary_share == 0
    override = store.overrides()["canary_share"]
    assert override.updated_by == FALLBACK_ACTOR
    assert override.reason == (
        "http error rate 0.273 (max 0.2), p95 0.010s (max 1.0s) over 11 calls in 60s (min 10)"
    )
    assert not _holding(fallback)  # the store says so now


async def test_a_p95_above_the_limit_trips_it() -> None:
    fallback, store, _ = _setup()

    _record(fallback, *["ok"] * 19, seconds=0.05)
    _record(fallback, "ok", seconds=1.5)  # 1 slow in 20: the p95 (nearest rank) is fast
    assert not _holding(fallback)
    _record(fallback, "ok", seconds=2.0)  # 2 slow in 21: the p95 is 1.5 s

    assert _holding(fallback)
    await fallback.settled()
    assert "p95 1.500s (max 1.0s) over 21 calls" in store.overrides()["canary_share"].reason


def test_p95_is_the_nearest_rank() -> None:
    assert p95([]) == 0.0
    assert p95([float(n) for n in range(1, 101)]) == 95.0
    assert p95([float(n) for n in range(1, 21)]) == 19.0


async def test_fewer_calls_than_min_calls_never_trip_it() -> None:
    fallback, store, _ = _setup()

    _record(fallback, *["error"] * 9, seconds=5.0)

    assert not _holding(fallback)
    assert fallback.stats().calls == 9
    assert store.writes == []


async def test_domain_answers_are_not_failures() -> None:
    fallback, store, _ = _setup()
    http = FakeProductClient()
    mug = http.add(stock=0)
    guarded = GuardedProductClient(http, fallback)
    lines = [ReservationLineRequest(product_id=mug.id, quantity=1)]

    for n in range(30):
        with pytest.raises(InsufficientStock):
            await guarded.reserve(f"k-{n}", lines)
    assert not _holding(fallback)
    assert (fallback.stats().calls, fallback.stats().failures) == (30, 0)

    http.down = True
    for _ in range(8):
        with pytest.raises(ProductsUnavailable):
            await guarded.get_product(mug.id)

    assert _holding(fallback)  # 8 / 38 > 0.2
    await fallback.settled()
    assert store.current().canary_share == 0


async def test_calls_older_than_the_window_no_longer_count() -> None:
    fallback, store, clock = _setup()

    _record(fallback, *["error"] * 9)
    clock.advance(30)
    assert fallback.stats().calls == 9
    clock.advance(31)
    _record(fallback, *["ok"] * 9, "error")  # the 9 earlier errors are gone: 1 / 10

    assert not _holding(fallback)
    assert fallback.stats().calls == 10
    assert store.writes == []


async def test_the_trip_writes_share_0_and_canary_when_the_mode_was_http(
    caplog: pytest.LogCaptureFixture, metric: Metric
) -> None:
    fallback, store, _ = _setup(ProductsClientMode.HTTP, share=0)

    with caplog.at_level(logging.WARNING, "orders.adapters.product_clients.fallback"):
        _record(fallback, *["error"] * 10)
        await fallback.settled()

    assert store.writes == [
        (
            {"canary_share": 0, "products_client": "canary"},
            "canary-fallback",
            "http error rate 1.000 (max 0.2), p95 0.010s (max 1.0s) over 10 calls in 60s (min 10)",
        )
    ]
    assert store.current().products_client is ProductsClientMode.CANARY
    assert [r.getMessage() for r in caplog.records] == [
        "canary fallback: " + store.writes[0][2] + "; canary share set to 0"
    ]
    assert fallback.publish_active()
    assert metric("orders_canary_fallback_active") == 1


async def test_a_failed_write_is_retried_and_everyone_stays_local_meanwhile() -> None:
    fallback, store, _ = _setup(failures=2)
    local, http = FakeProductClient(), FakeProductClient()
    clients = ProductClients(
        ProductsClientMode.CANARY,
        local=local,
        http=http,
        shadow=ShadowProductClient(local, http, 1.0),
    )
    router = ProductClientRouter(clients, fallback=fallback)
    flags = store.current()
    users = [f"user-{n}" for n in range(40)]
    assert any(router.choose(flags, u) is not local for u in users)

    _record(fallback, *["error"] * 10)
    state = fallback.state()

    assert state is not None
    assert (state.at, state.pending) == (T0, True)
    assert all(router.choose(flags, u) is local for u in users)  # flags still say 50 %
    await fallback.settled()
    assert [w[0] for w in store.writes] == [{"canary_share": 0}] * 3
    assert not _holding(fallback)
    assert all(router.choose(store.current(), u) is local for u in users)


async def test_it_never_raises_the_share_and_an_operator_ends_it(metric: Metric) -> None:
    fallback, store, clock = _setup()
    _record(fallback, *["error"] * 10)
    await fallback.settled()
    # Calls still in flight from before the trip are not judged again.
    generation = fallback.generation - 1
    fallback.record(0.01, "error", generation)
    assert fallback.stats().calls == 0

    clock.advance(120)
    await store.change({"canary_share": 5}, actor="alice", reason="products fixed")

    fallback_writes = [w[0] for w in store.writes if w[1] == FALLBACK_ACTOR]
    assert fallback_writes == [{"canary_share": 0}]
    assert store.current().canary_share == 5
    assert fallback.state() is None
    assert not fallback.publish_active()
    assert metric("orders_canary_fallback_active") == 0


def _blocked_sleep() -> tuple[Callable[[float], Awaitable[None]], asyncio.Event]:
    wake = asyncio.Event()

    async def sleep(_: float) -> None:
        await wake.wait()
        wake.clear()

    return sleep, wake


async def test_aclose_makes_one_final_attempt_at_a_write_still_retrying() -> None:
    clock = Clock()
    store = FailingStore(FeatureFlags(products_client=ProductsClientMode.CANARY), 1, clock)
    sleep, _ = _blocked_sleep()
    fallback = CanaryFallback(store, LIMITS, clock=clock, sleep=sleep)
    _record(fallback, *["error"] * 10)
    await asyncio.sleep(0)
    assert len(store.writes) == 1  # failed; the retry waits

    await fallback.aclose()

    assert len(store.writes) == 2
    assert store.current().canary_share == 0
    assert store.overrides()["canary_share"].updated_by == FALLBACK_ACTOR


async def test_a_final_attempt_that_fails_is_logged_as_an_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    store = FailingStore(FeatureFlags(products_client=ProductsClientMode.CANARY), 10**6, clock)
    sleep, _ = _blocked_sleep()
    fallback = CanaryFallback(store, LIMITS, clock=clock, sleep=sleep)
    _record(fallback, *["error"] * 10)
    await asyncio.sleep(0)

    with caplog.at_level(logging.ERROR, "orders.adapters.product_clients.fallback"):
        await fallback.aclose()

    assert len(store.writes) == 2
    errors = [r for r in caplog.records if "before shutdown" in r.getMessage()]
    assert len(errors) == 1
    assert errors[0].levelno == logging.ERROR
    assert "could not write canary_share=0 before shutdown (database is down)" in (
        errors[0].getMessage()
    )
    assert _holding(fallback)  # nothing landed: this process keeps routing local


async def test_a_final_attempt_is_bounded() -> None:
    clock = Clock()
    store = FailingStore(FeatureFlags(products_client=ProductsClientMode.CANARY), 1, clock)
    sleep, _ = _blocked_sleep()
    fallback = CanaryFallback(store, LIMITS, clock=clock, sleep=sleep, final_attempt_seconds=0.01)
    _record(fallback, *["error"] * 10)
    await asyncio.sleep(0)
    hung = asyncio.Event()

    async def hangs(*_: object, **__: object) -> bool:
        await hung.wait()
        return True

    store.change_if = hangs  # type: ignore[method-assign]

    await fallback.aclose()  # returns although the store never answers

    assert not hung.is_set()
    assert _holding(fallback)


async def test_an_operator_change_after_the_trip_wins_over_a_late_write(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fallback, store, clock = _setup(failures=1)
    sleep, wake = _blocked_sleep()
    fallback = CanaryFallback(store, LIMITS, clock=clock, sleep=sleep)
    _record(fallback, *["error"] * 10)
    await asyncio.sleep(0)
    assert len(store.writes) == 1  # failed; the retry waits
    assert _holding(fallback)

    clock.advance(5)
    await store.change({"canary_share": 10}, actor="alice", reason="products fixed")
    assert not _holding(fallback)  # the operator's flags stand at once

    with caplog.at_level(logging.WARNING, "orders.adapters.product_clients.fallback"):
        wake.set()
        await fallback.settled()

    assert len(store.writes) == 2  # alice's; the fallback's retry wrote nothing
    assert store.current().canary_share == 10
    assert store.overrides()["canary_share"].updated_by == "alice"
    assert fallback.state() is None
    assert any("write skipped" in r.getMessage() for r in caplog.records)


async def test_an_operator_reset_of_the_mode_after_the_trip_also_wins() -> None:
    fallback, store, clock = _setup()
    sleep, wake = _blocked_sleep()
    fallback = CanaryFallback(store, LIMITS, clock=clock, sleep=sleep)
    await store.change({"products_client": "http"}, actor="alice", reason="go http")
    store.failures = 1
    _record(fallback, *["error"] * 10)
    await asyncio.sleep(0)

    clock.advance(5)
    await store.change({"products_client": None}, actor="bob", reason="back to default")
    assert not _holding(fallback)
    wake.set()
    await fallback.settled()

    assert store.current() == store.current().model_copy(
        update={"products_client": ProductsClientMode.CANARY, "canary_share": 50}
    )
    assert [w[1] for w in store.writes] == ["alice", FALLBACK_ACTOR, "bob"]


async def test_a_cancelled_call_is_not_judged() -> None:
    fallback, _, _ = _setup()
    started = asyncio.Event()

    class Hanging(FakeProductClient):
        async def confirm(self, reservation_id: Any) -> Any:
            started.set()
            await asyncio.Event().wait()

    guarded: ProductServiceClient = GuardedProductClient(Hanging(), fallback)
    task = asyncio.create_task(guarded.confirm(uuid4()))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert fallback.stats().calls == 0


class Timer:
    """The guard's monotonic timer: moves only when products 'takes time'."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _guarded_http(
    make_client: Callable[..., HttpProductClient], fallback: CanaryFallback, bulkhead: Bulkhead
) -> tuple[ProductServiceClient, Timer]:
    timer = Timer()
    http = make_client(bulkhead=bulkhead, max_attempts=1)
    observed = ObservedProductClient(http, ProductsClientMode.HTTP.value)
    return GuardedProductClient(observed, fallback, timer=timer), timer


async def test_waiting_for_a_bulkhead_slot_is_not_judged(
    make_client: Callable[..., HttpProductClient],
    router: respx.Router,
    product_body: Callable[..., dict[str, Any]],
) -> None:
    fallback, store, _ = _setup()
    guarded, timer = _guarded_http(make_client, fallback, Bulkhead(1, 30.0))
    product_id = uuid4()

    async def slow_but_healthy(_: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0)  # let the burst queue behind this call
        timer.now += 0.2
        return httpx.Response(200, json=product_body(product_id))

    router.get(f"/products/{product_id}").mock(side_effect=slow_but_healthy)

    # 30 at once through one slot: the last waits 5.8 s in orders, products takes 0.2 s each.
    await asyncio.gather(*(guarded.get_product(product_id) for _ in range(30)))

    assert timer.now == pytest.approx(6.0)
    stats = fallback.stats()
    assert (stats.calls, stats.failures) == (30, 0)
    assert stats.p95_seconds == pytest.approx(0.2)
    assert not _holding(fallback)
    assert store.writes == []


async def test_a_bulkhead_rejection_is_not_a_products_failure(
    make_client: Callable[..., HttpProductClient],
    router: respx.Router,
    product_body: Callable[..., dict[str, Any]],
) -> None:
    fallback, store, _ = _setup()
    guarded, _ = _guarded_http(make_client, fallback, Bulkhead(1, 0.001))
    product_id = uuid4()
    held, release = asyncio.Event(), asyncio.Event()

    async def holds_the_slot(_: httpx.Request) -> httpx.Response:
        held.set()
        await release.wait()
        return httpx.Response(200, json=product_body(product_id))

    router.get(f"/products/{product_id}").mock(side_effect=holds_the_slot)
    holder = asyncio.create_task(guarded.get_product(product_id))
    await held.wait()

    for _ in range(20):
        with pytest.raises(ProductsUnavailable) as raised:
            await guarded.get_product(product_id)
        # API users see the same problem as before: code, status, Retry-After.
        assert isinstance(raised.value, BulkheadFull)
        assert (raised.value.code, raised.value.status) == (ErrorCode.PRODUCTS_UNAVAILABLE, 503)
        assert raised.value.retry_after == 1

    assert fallback.stats().calls == 0
    assert not _holding(fallback)
    release.set()
    await holder
    assert (fallback.stats().calls, fallback.stats().failures) == (1, 0)
    assert store.writes == []


@pytest.mark.parametrize("broken", ["5xx", "refused"])
async def test_products_failing_behind_the_bulkhead_still_trips_it(
    broken: str, make_client: Callable[..., HttpProductClient], router: respx.Router
) -> None:
    fallback, store, _ = _setup()
    guarded, _ = _guarded_http(make_client, fallback, Bulkhead(1, 30.0))
    product_id = uuid4()
    route = router.get(f"/products/{product_id}")
    if broken == "5xx":
        route.mock(return_value=httpx.Response(503))
    else:
        route.mock(side_effect=httpx.ConnectError("connection refused"))

    for _ in range(LIMITS.min_calls):
        with pytest.raises(ProductsUnavailable) as raised:
            await guarded.get_product(product_id)
        assert not isinstance(raised.value, BulkheadFull)

    assert _holding(fallback)
    await fallback.settled()
    assert store.current().canary_share == 0
