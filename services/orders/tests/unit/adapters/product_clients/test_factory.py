"""build_product_client: every mode's client is observed the same way (span and series)."""

from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from harness import make_settings

from orders.adapters.product_clients.factory import build_product_client
from orders.config import ProductsClientMode
from products.facade import upgrade_products_database
from servicekit.testing import recorded_spans
from shop_contracts.errors import ProductNotFound, ProductsUnavailable

Metric = Callable[..., float]
CALLS = "orders_product_client_call_duration_seconds_count"
NOWHERE = "http://127.0.0.1:9"  # refused at once: the http client fails fast


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
    products_db = f"sqlite+aiosqlite:///{tmp_path / 'products.db'}"
    await upgrade_products_database(products_db)
    settings = make_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'orders.db'}",
        products_client=mode,
        products_url=NOWHERE,
        products_database_url=products_db,
        products_max_attempts=1,
        run_products_sweeper=False,
    )
    labels = {"mode": mode.value, "method": "get_product", "outcome": outcome}
    before = metric(CALLS, **labels)

    with recorded_spans() as spans:
        async with AsyncExitStack() as stack:
            built = await build_product_client(settings, stack)
            with pytest.raises(error):
                await built.client.get_product(uuid4())
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
