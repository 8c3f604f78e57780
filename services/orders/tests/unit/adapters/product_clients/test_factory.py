"""build_product_clients: every mode's client is observed the same way (span and series)."""

from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from harness import make_settings

from orders.adapters.product_clients.factory import build_product_clients
from orders.adapters.product_clients.routing import ProductClientRouter
from orders.config import FeatureFlags, ProductsClientMode, Settings, default_flags
from products.facade import upgrade_products_database
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

    with recorded_spans() as spans:
        async with AsyncExitStack() as stack:
            router = ProductClientRouter(await build_product_clients(settings, stack))
            client = router.choose(default_flags(settings, FeatureFlags()), "alice")
            with pytest.raises(error):
                await client.get_product(uuid4())
        finished = spans.get_finished_spans()

    assert metric(CALLS, **labels) == before + 1
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

    assert (clients.local is not None, clients.http is not None) == (local, http)
    assert (clients.shadow is not None) == (local and http)
    # Products' consumers run here whenever products does.
    assert bool(clients.subscriptions) == local
    if clients.shadow is not None:
        # The shadow's candidate is the http path's own (observed) client, built once.
        assert clients.shadow._candidate is clients.http
