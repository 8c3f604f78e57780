"""The products seam as the factory builds it: routed by FeatureFlags, per user, per request."""

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime

import pytest
from fakes import FakeProductClient

from cutover.flags import InMemoryFlagStore
from orders.adapters.product_clients.factory import ProductClients, ProductsSeam, build_seam
from orders.bootstrap.flags import ORDERS_FLAGS
from orders.config import FeatureFlags, ProductsClientMode, Settings
from seam import Mode, on_remote

Metric = Callable[..., float]
USERS = [f"user-{n}" for n in range(200)]
Build = Callable[[ProductClients], ProductsSeam]


def _flags(mode: ProductsClientMode, share: int = 0, rate: float = 1.0) -> FeatureFlags:
    return FeatureFlags(products_client=mode, canary_share=share, shadow_sample_rate=rate)


@pytest.fixture
async def build(make_settings: Callable[..., Settings]) -> AsyncIterator[Build]:
    """Builds seams as ``main`` does; closes them after the test."""
    async with AsyncExitStack() as stack:

        def seam(clients: ProductClients) -> ProductsSeam:
            store = InMemoryFlagStore(ORDERS_FLAGS, FeatureFlags())
            return build_seam(clients, make_settings(), store, stack, lambda: datetime.now(UTC))

        yield seam


def _canary(build: Build) -> tuple[ProductsSeam, FakeProductClient, FakeProductClient]:
    local, http = FakeProductClient(), FakeProductClient()
    return build(ProductClients(ProductsClientMode.CANARY, local=local, http=http)), local, http


async def test_canary_users_follow_their_bucket_and_the_http_path_is_judged(
    build: Build, metric: Metric
) -> None:
    seam, local, http = _canary(build)
    flags = _flags(ProductsClientMode.CANARY, 50)
    routed = {"mode": "canary", "client": "http"}
    before = metric("orders_product_client_routed_total", **routed)

    on_http = [user for user in USERS if seam.choose(flags, user) is seam.routed_remote]

    assert on_http == [user for user in USERS if on_remote(user, 50)]
    assert 0 < len(on_http) < len(USERS)
    assert metric("orders_product_client_routed_total", **routed) == before + len(on_http)
    # With local to fall back to, the routed http path is the fallback's, not the bare one.
    assert seam.fallback is not None
    assert seam.routed_remote is not seam.remote
    product = http.add()
    await seam.choose(flags, on_http[0]).get_product(product.id)
    assert seam.fallback.stats().calls == 1
    assert local.calls == []


async def test_a_mode_not_built_is_served_by_the_startup_mode_with_a_warning(
    build: Build, caplog: pytest.LogCaptureFixture
) -> None:
    seam = build(ProductClients(ProductsClientMode.LOCAL, local=FakeProductClient()))

    with caplog.at_level(logging.WARNING, "seam.router"):
        assert seam.choose(_flags(ProductsClientMode.CANARY, 100), "alice") is seam.local
        assert seam.choose(_flags(ProductsClientMode.HTTP), "alice") is seam.local

    warnings = [r for r in caplog.records if "did not build" in r.getMessage()]
    assert [r.products_client for r in warnings] == ["canary", "http"]  # type: ignore[attr-defined]
    assert warnings[0].getMessage() == (
        "products_client flag canary needs clients this process did not build; serving local"
    )
    assert seam.modes == frozenset({Mode.LOCAL})


async def test_the_shadow_sample_rate_is_the_requests(build: Build) -> None:
    seam, local, http = _canary(build)
    product = local.add()
    http.products[product.id] = product
    http.stock[product.id] = local.stock[product.id]
    never = _flags(ProductsClientMode.SHADOW, rate=0.0)
    always = _flags(ProductsClientMode.SHADOW, rate=1.0)

    await seam.choose(never, "alice").get_product(product.id)
    await seam.choose(always, "alice").get_product(product.id)
    assert seam.shadow is not None
    await seam.shadow.drain()

    assert local.calls == ["get_product", "get_product"]
    assert http.calls == ["get_product"]  # only the read at rate 1 was mirrored


async def test_background_work_uses_local_whenever_it_is_built(build: Build) -> None:
    seam, _, _ = _canary(build)
    http_only = build(ProductClients(ProductsClientMode.HTTP, http=FakeProductClient()))

    assert seam.authoritative is seam.local
    assert http_only.authoritative is http_only.remote
    assert http_only.fallback is None
