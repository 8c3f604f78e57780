"""Clients generated from the committed OpenAPI documents carry a customer's journey.

openapi-python-client generates a package from each document in
``libs/contracts/openapi``; the journey (list, quote, place, replay, get, list,
summary, cancel) runs through those packages only, against real processes. A
document a generator cannot use, or one that no longer matches what the
services answer, fails here.
"""

import importlib
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any
from uuid import uuid4

import pytest

from scripts.export_openapi import committed_path
from tests.integration.stack import Shop, Stack

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

_GENERATOR = Path(sys.executable).with_name("openapi-python-client")


class Generated:
    """One generated client package, imported from a temporary folder."""

    def __init__(self, package: str) -> None:
        self.package = package

    def module(self, name: str) -> Any:
        """A module of the package, e.g. ``api.orders.place_order``."""
        module: ModuleType = importlib.import_module(f"{self.package}.{name}")
        return module

    def client(self, base_url: str, token: str | None = None) -> Any:
        """The package's ``AuthenticatedClient`` (or ``Client`` without a token)."""
        root = self.module("client")
        if token is None:
            return root.Client(base_url=base_url, raise_on_unexpected_status=True)
        return root.AuthenticatedClient(
            base_url=base_url, token=token, raise_on_unexpected_status=True
        )


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Generated]]:
    """``orders`` and ``products`` clients, generated from the committed documents."""
    folder = tmp_path_factory.mktemp("generated")
    config = folder / "config.yaml"
    packages = {}
    for service in ("orders", "products"):
        package = f"generated_{service}_client"
        config.write_text(f"post_hooks: []\npackage_name_override: {package}\n")
        subprocess.run(
            [
                str(_GENERATOR), "generate", "--path", str(committed_path(service)),
                "--meta", "none", "--output-path", str(folder / package),
                "--config", str(config),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )  # fmt: skip
        packages[service] = Generated(package)
    sys.path.insert(0, str(folder))
    try:
        yield packages
    finally:
        sys.path.remove(str(folder))
        for name in [m for m in sys.modules if m.startswith("generated_")]:
            del sys.modules[name]


def _ok(response: Any, status: int) -> Any:
    assert response.status_code == status, response.content
    return response.parsed


def test_a_customer_journey_through_the_generated_clients(
    stack: Stack, shop: Shop, generated: dict[str, Generated]
) -> None:
    products = stack.start_products()
    orders = stack.start_orders("http", products)
    catalogue_api, orders_api = generated["products"], generated["orders"]
    user = f"generated-{uuid4().hex[:8]}"
    token = shop.auth(user)["Authorization"].removeprefix("Bearer ")
    models = orders_api.module("models")

    with (
        catalogue_api.client(products.url) as catalogue,
        orders_api.client(orders.url, token) as client,
    ):
        listing = catalogue_api.module("api.products.list_products")
        page = _ok(listing.sync_detailed(client=catalogue, page_size=5), 200)
        product = next(p for p in page.items if p.stock_available >= 2)

        cart = models.CartIn(items=[models.OrderItemIn(product_id=product.id, quantity=2)])
        quote = _ok(
            orders_api.module("api.orders.quote").sync_detailed(client=client, body=cart), 200
        )
        assert Decimal(quote.subtotal) == Decimal(product.price) * 2

        place = orders_api.module("api.orders.place_order")
        key = f"journey-{user}"
        placed = _ok(place.sync_detailed(client=client, body=cart, idempotency_key=key), 201)
        replayed = _ok(place.sync_detailed(client=client, body=cart, idempotency_key=key), 200)
        assert replayed.id == placed.id
        assert placed.status == models.OrderStatus.CONFIRMED

        get_order = orders_api.module("api.orders.get_order")
        fetched = _ok(get_order.sync_detailed(placed.id, client=client), 200)
        assert [(i.product_id, i.quantity) for i in fetched.items] == [(product.id, 2)]

        listed = _ok(orders_api.module("api.orders.list_orders").sync_detailed(client=client), 200)
        assert [o.id for o in listed.items] == [placed.id]

        summary_api = orders_api.module("api.orders.order_summary")
        summary = _ok(summary_api.sync_detailed(client=client), 200)
        assert (summary.total_orders, Decimal(summary.total_spent)) == (1, Decimal(quote.subtotal))

        cancel = orders_api.module("api.orders.cancel_order")
        reason = models.CancelOrderIn(reason="changed my mind")
        cancelled = _ok(cancel.sync_detailed(placed.id, client=client, body=reason), 200)
        assert cancelled.status == models.OrderStatus.CANCELLED

        missing = get_order.sync_detailed(uuid4(), client=client)
        assert missing.status_code == 404
        assert missing.parsed.code == models.ErrorCode.ORDER_NOT_FOUND
