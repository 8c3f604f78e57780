"""ProductClientRouter: per-request choice, sticky and monotonic canary, shadow rate per request."""

import logging
from collections.abc import Callable

import pytest
from fakes import FakeProductClient

from orders.adapters.product_clients.factory import ProductClients
from orders.adapters.product_clients.routing import (
    ProductClientRouter,
    canary_bucket,
    on_http,
)
from orders.adapters.product_clients.shadow import ShadowProductClient
from orders.config import FeatureFlags, ProductsClientMode
from orders.domain.product_client import ProductServiceClient

Metric = Callable[..., float]
USERS = [f"user-{n}" for n in range(10_000)]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _flags(mode: ProductsClientMode, share: int = 0, rate: float = 1.0) -> FeatureFlags:
    return FeatureFlags(products_client=mode, canary_share=share, shadow_sample_rate=rate)


def _both(
    startup: ProductsClientMode = ProductsClientMode.CANARY,
) -> tuple[ProductClients, FakeProductClient, FakeProductClient]:
    local, http = FakeProductClient(), FakeProductClient()
    shadow = ShadowProductClient(local, http, 1.0)
    return ProductClients(startup, local=local, http=http, shadow=shadow), local, http


def _http_users(router: ProductClientRouter, clients: ProductClients, share: int) -> set[str]:
    flags = _flags(ProductsClientMode.CANARY, share)
    return {user for user in USERS if router.choose(flags, user) is clients.http}


def test_a_user_gets_the_same_client_on_every_request() -> None:
    clients, _, _ = _both()
    router = ProductClientRouter(clients)
    flags = _flags(ProductsClientMode.CANARY, 50)

    for user in USERS[:200]:
        first = router.choose(flags, user)
        assert all(router.choose(flags, user) is first for _ in range(5))
        assert first is (clients.http if on_http(user, 50) else clients.local)


def test_raising_the_share_only_moves_users_from_local_to_http() -> None:
    clients, _, _ = _both()
    router = ProductClientRouter(clients)

    at_5, at_50, at_100 = (_http_users(router, clients, share) for share in (5, 50, 100))

    assert at_5 < at_50 < at_100
    assert at_100 == set(USERS)


@pytest.mark.parametrize("share", [1, 5, 25, 50, 90])
def test_the_share_of_users_on_http_is_close_to_the_percentage(share: int) -> None:
    clients, _, _ = _both()
    router = ProductClientRouter(clients)

    on = len(_http_users(router, clients, share))

    # 10,000 users; the binomial standard deviation is at most 50 users (0.5 %).
    assert abs(on - share * 100) <= 200, on


def test_zero_and_a_hundred_percent_are_exact() -> None:
    clients, _, _ = _both()
    router = ProductClientRouter(clients)

    assert _http_users(router, clients, 0) == set()
    assert _http_users(router, clients, 100) == set(USERS)


def test_the_bucket_is_sha256_of_the_user_id() -> None:
    # Fixed, so every process (and every release) puts a user in the same bucket.
    assert canary_bucket("alice") == canary_bucket("alice")
    assert {canary_bucket(u) for u in USERS[:100]} <= set(range(10_000))
    assert canary_bucket("alice") == int("2bd806c97f0e00af", 16) % 10_000


@pytest.mark.parametrize(
    ("mode", "client"),
    [
        (ProductsClientMode.LOCAL, "local"),
        (ProductsClientMode.HTTP, "http"),
    ],
)
def test_single_client_modes_send_everyone_to_that_client(
    mode: ProductsClientMode, client: str, metric: Metric
) -> None:
    clients, _, _ = _both()
    router = ProductClientRouter(clients)
    labels = {"mode": mode.value, "client": client}
    before = metric("orders_product_client_routed_total", **labels)

    chosen = {id(router.choose(_flags(mode, 50), user)) for user in USERS[:50]}

    assert chosen == {id(getattr(clients, client))}
    assert metric("orders_product_client_routed_total", **labels) == before + 50


def test_a_mode_not_built_is_served_by_the_startup_mode_with_one_warning_a_minute(
    caplog: pytest.LogCaptureFixture, metric: Metric
) -> None:
    local = FakeProductClient()
    clock = Clock()
    router = ProductClientRouter(
        ProductClients(ProductsClientMode.LOCAL, local=local), monotonic=clock
    )
    labels = {"mode": "canary", "client": "local"}
    before = metric("orders_product_client_routed_total", **labels)

    with caplog.at_level(logging.WARNING, "orders.adapters.product_clients.routing"):
        for _ in range(3):
            assert router.choose(_flags(ProductsClientMode.CANARY, 100), "alice") is local
        clock.now += 61
        assert router.choose(_flags(ProductsClientMode.HTTP), "alice") is local
        assert router.choose(_flags(ProductsClientMode.CANARY, 100), "alice") is local

    warnings = [r for r in caplog.records if "did not build" in r.getMessage()]
    assert [r.products_client for r in warnings] == ["canary", "http", "canary"]  # type: ignore[attr-defined]
    assert metric("orders_product_client_routed_total", **labels) == before + 4
    assert router.modes == frozenset({ProductsClientMode.LOCAL})


def test_an_http_only_process_serves_every_mode_with_http() -> None:
    http = FakeProductClient()
    router = ProductClientRouter(ProductClients(ProductsClientMode.HTTP, http=http))

    for mode in ProductsClientMode:
        assert router.choose(_flags(mode, 0), "alice") is http
    assert router.authoritative is http


def test_background_work_uses_local_whenever_it_is_built() -> None:
    clients, local, _ = _both(ProductsClientMode.CANARY)

    assert ProductClientRouter(clients).authoritative is local


async def test_the_shadow_sample_rate_is_the_requests() -> None:
    clients, local, http = _both(ProductsClientMode.SHADOW)
    router = ProductClientRouter(clients)
    product = local.add()
    http.products[product.id] = product
    http.stock[product.id] = local.stock[product.id]
    never, always = _flags(ProductsClientMode.SHADOW, rate=0.0), _flags(ProductsClientMode.SHADOW)

    client: ProductServiceClient = router.choose(never, "alice")
    assert router.choose(never, "bob") is client  # one view per rate in force
    await client.get_product(product.id)
    await router.choose(always, "alice").get_product(product.id)
    assert clients.shadow is not None
    await clients.shadow.drain()

    assert local.calls == ["get_product", "get_product"]
    assert http.calls == ["get_product"]  # only the read at rate 1 was mirrored


def test_clients_need_the_shadow_when_both_are_built() -> None:
    with pytest.raises(ValueError, match="shadow"):
        ProductClients(
            ProductsClientMode.CANARY, local=FakeProductClient(), http=FakeProductClient()
        )
    with pytest.raises(ValueError, match="at least one"):
        ProductClients(ProductsClientMode.LOCAL)


@pytest.mark.parametrize(
    ("mode", "share", "routed"),
    [
        (ProductsClientMode.LOCAL, 50, 0),
        (ProductsClientMode.SHADOW, 50, 0),
        (ProductsClientMode.CANARY, 50, 50),
        (ProductsClientMode.HTTP, 50, 100),
    ],
)
def test_the_share_gauge_is_the_share_routed_to_http(
    mode: ProductsClientMode, share: int, routed: int, metric: Metric
) -> None:
    clients, _, _ = _both()
    router = ProductClientRouter(clients)
    router.publish(_flags(ProductsClientMode.CANARY, 7))

    router.choose(_flags(mode, share), "alice")

    assert metric("orders_flags_canary_share") == routed


def test_the_share_gauge_of_a_mode_not_built_is_the_startup_modes(metric: Metric) -> None:
    router = ProductClientRouter(
        ProductClients(ProductsClientMode.LOCAL, local=FakeProductClient())
    )

    router.publish(_flags(ProductsClientMode.CANARY, 50))
    assert metric("orders_flags_canary_share") == 0

    http_only = ProductClientRouter(
        ProductClients(ProductsClientMode.HTTP, http=FakeProductClient())
    )
    http_only.publish(_flags(ProductsClientMode.LOCAL, 0))
    assert metric("orders_flags_canary_share") == 100
