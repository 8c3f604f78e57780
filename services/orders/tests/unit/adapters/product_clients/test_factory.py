"""build_product_clients and build_seam: every mode observed the same way, built per start-up mode."""

from collections.abc import Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from fakes import FakeProductClient
from harness import make_settings

from cutover.flags import InMemoryFlagStore
from orders.adapters.product_clients.factory import (
    ProductClients,
    build_product_clients,
    build_seam,
    products_readiness,
)
from orders.bootstrap.flags import ORDERS_FLAGS
from orders.config import FeatureFlags, ProductsClientMode, Settings, default_flags
from products.facade import upgrade_products_database
from seam import Mode, choosable
from servicekit.testing import recorded_spans
from shop_contracts.errors import ProductNotFound, ProductsUnavailable

Metric = Callable[..., float]
CALLS = "orders_product_client_call_duration_seconds_count"
NOWHERE = "http://127.0.0.1:9"  # refused at once: the http client fails fast


async def _settings(tmp_path: Path, mode: ProductsClientMode, **overrides: Any) -> Settings:
    """Orders in ``mode`` over SQLite files: products' migrated, its http URL refusing."""
    products_db = f"sqlite+aiosqlite:///{tmp_path / 'products.db'}"
    await upgrade_products_database(products_db)
    return make_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'orders.db'}",
        products_client=mode,
        products_url=NOWHERE,
        products_database_url=products_db,
        run_products_sweeper=False,
        **overrides,
    )


@pytest.mark.parametrize(
    ("mode", "error", "outcome"),
    [
        (ProductsClientMode.LOCAL, ProductNotFound, "product_not_found"),
        (ProductsClientMode.HTTP, ProductsUnavailable, "products_unavailable"),
        (ProductsClientMode.SHADOW, ProductNotFound, "product_not_found"),
    ],
)
async def test_every_mode_records_the_same_span_and_series_under_its_mode(
    tmp_path: Path,
    metric: Metric,
    mode: ProductsClientMode,
    error: type[Exception],
    outcome: str,
) -> None:
    settings = await _settings(tmp_path, mode, products_max_attempts=1)
    labels = {"mode": mode.value, "method": "get_product", "outcome": outcome}
    before = metric(CALLS, **labels)
    mirrored = {"mode": "http", "method": "get_product", "outcome": "products_unavailable"}
    mirrored_before = metric(CALLS, **mirrored)

    with recorded_spans() as spans:
        async with AsyncExitStack() as stack:
            flags = default_flags(settings, FeatureFlags())
            store = InMemoryFlagStore(ORDERS_FLAGS, flags)
            clients = await build_product_clients(settings, stack)
            seam = build_seam(clients, settings, store, stack, lambda: datetime.now(UTC))
            with pytest.raises(error):
                await seam.choose(flags, "alice").get_product(uuid4())
            if seam.shadow is not None:
                await seam.shadow.drain()
        finished = spans.get_finished_spans()

    assert metric(CALLS, **labels) == before + 1
    if mode is ProductsClientMode.SHADOW:
        # The mirrored read is the http path's own call: its series and span say ``http``.
        assert metric(CALLS, **mirrored) == mirrored_before + 1
    calls = [
        span
        for span in finished
        if span.name == "product_client.get_product"
        and (span.attributes or {}).get("product_client.mode") == mode.value
    ]
    assert len(calls) == 1
    attributes: dict[str, Any] = dict(calls[0].attributes or {})
    assert attributes["product_client.problem_code"] == outcome


@pytest.mark.parametrize(
    ("startup", "local", "http"),
    [
        (ProductsClientMode.LOCAL, True, False),
        (ProductsClientMode.HTTP, False, True),
        (ProductsClientMode.SHADOW, True, True),
        (ProductsClientMode.CANARY, True, True),
    ],
)
async def test_the_startup_mode_decides_which_clients_are_built(
    tmp_path: Path, startup: ProductsClientMode, local: bool, http: bool
) -> None:
    settings = await _settings(tmp_path, startup)

    async with AsyncExitStack() as stack:
        clients = await build_product_clients(settings, stack)
        store = InMemoryFlagStore(ORDERS_FLAGS, default_flags(settings, FeatureFlags()))
        seam = build_seam(clients, settings, store, stack, lambda: datetime.now(UTC))

    assert (clients.local is not None, clients.http is not None) == (local, http)
    assert (seam.local is not None, seam.remote is not None) == (local, http)
    # Shadow comparisons and the canary fallback exist only with both sides built.
    assert (seam.shadow is not None) == (local and http)
    assert (seam.fallback is not None) == (local and http)
    assert seam.modes == choosable(Mode(startup))
    # Products' consumers run here whenever products does.
    assert bool(clients.subscriptions) == local
    # The http client's breaker is kept for the fallback to follow.
    assert (clients.http_breaker is not None) == http


async def test_canary_readiness_reports_both_clients_and_the_fallback_in_force() -> None:
    async def local_report() -> dict[str, Any]:
        return {"mode": "local", "database": "ok"}

    async def http_report() -> dict[str, Any]:
        return {"mode": "http", "breaker": "closed"}

    clients = ProductClients(
        ProductsClientMode.CANARY,
        local=FakeProductClient(),
        http=FakeProductClient(),
        local_report=local_report,
        http_report=http_report,
    )
    flags = FeatureFlags(products_client=ProductsClientMode.CANARY, canary_share=30)
    store = InMemoryFlagStore(ORDERS_FLAGS, flags)
    async with AsyncExitStack() as stack:
        seam = build_seam(
            clients, make_settings("sqlite://"), store, stack, lambda: datetime.now(UTC)
        )
        report = products_readiness(seam, clients, store)

        assert await report() == {
            "mode": "canary",
            "database": "ok",
            "canary_share": 30,
            "candidate": {"mode": "http", "breaker": "closed"},
        }

        assert seam.fallback is not None
        seam.fallback.remote_down("hung")
        held = await report()
        await seam.fallback.settled()
        settled = await report()

    assert held["status"] == "degraded"
    assert held["canary_share"] == 0  # held local before the store has the write
    assert held["fallback"]["pending"] is True
    assert held["fallback"]["reason"] == "remote client breaker opened: hung"
    assert settled["canary_share"] == 0
    assert settled["fallback"]["reason"] == "remote client breaker opened: hung"
    assert "pending" not in settled["fallback"]


async def test_a_single_client_process_reports_that_clients_readiness() -> None:
    async def local_report() -> dict[str, Any]:
        return {"mode": "local", "database": "ok"}

    clients = ProductClients(
        ProductsClientMode.LOCAL, local=FakeProductClient(), local_report=local_report
    )
    store = InMemoryFlagStore(ORDERS_FLAGS, FeatureFlags())
    async with AsyncExitStack() as stack:
        seam = build_seam(
            clients, make_settings("sqlite://"), store, stack, lambda: datetime.now(UTC)
        )
        assert await products_readiness(seam, clients, store)() == {
            "mode": "local",
            "database": "ok",
        }
