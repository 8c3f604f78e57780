"""Both services on PostgreSQL for the property tests, as real processes: products,
and orders in local mode and in http mode in front of that products process.

Hypothesis drives synchronous code (it does not run async tests), and real
processes need nothing but a synchronous HTTP client.
"""

import asyncio
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from uuid import uuid4

import httpx
import pytest

from orders.adapters.db.migrate import upgrade_orders_database
from products.facade import upgrade_products_database
from servicekit.auth import mint_user_token
from servicekit.settings import Environment, ServiceSettings
from servicekit.testing import fresh_postgres_database
from shop_contracts import paths
from tests.support.processes import ServiceProcess

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

API = paths.API_PREFIX
MODES = ("local", "http")


def _settings() -> ServiceSettings:
    """The test suite's settings (the dev secrets the live processes run with)."""
    return ServiceSettings(environment=Environment.TESTING)


class Products:
    """The products API of the live process, as an admin and as a reader."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=f"{url}{API}", timeout=30)
        token = mint_user_token(_settings(), "properties-admin", ["admin"])
        self.admin = {"Authorization": f"Bearer {token}"}

    def add(self, *, price: Decimal, stock: int) -> str:
        """A new product (unique SKU); its id."""
        sku = f"P-{uuid4().hex[:12]}"
        response = self.http.post(
            paths.PRODUCTS,
            json={"sku": sku, "name": sku, "price": f"{price:.2f}", "stock": stock},
            headers=self.admin,
        )
        assert response.status_code == 201, response.text
        product_id: str = response.json()["id"]
        return product_id

    def stock(self, product_id: str) -> int:
        """Available units as products reports them."""
        response = self.http.get(paths.PRODUCT.format(product_id=product_id))
        assert response.status_code == 200, response.text
        available: int = response.json()["stock_available"]
        return available


@pytest.fixture(scope="session")
def property_databases() -> Iterator[tuple[str, str]]:
    """Migrated products and orders databases shared by every property test."""
    with (
        fresh_postgres_database("prop_products") as products_url,
        fresh_postgres_database("prop_orders") as orders_url,
    ):
        asyncio.run(upgrade_products_database(products_url))
        asyncio.run(upgrade_orders_database(orders_url))
        yield products_url, orders_url


@pytest.fixture(scope="session")
def products(
    property_databases: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Products]:
    """A real products process (uvicorn) over the shared products database."""
    process = ServiceProcess(
        "products",
        env={
            "APP_ENVIRONMENT": "testing",
            "APP_DATABASE_URL": property_databases[0],
            "APP_SWEEP_INTERVAL_SECONDS": "3600",
            "APP_LOG_LEVEL": "WARNING",
        },
        log_dir=Path(tmp_path_factory.mktemp("property-logs")),
    ).start(ready_timeout=60)
    client = Products(process.url)
    try:
        yield client
    finally:
        client.http.close()
        process.stop()


@pytest.fixture(scope="session", params=MODES)
def orders(
    request: pytest.FixtureRequest,
    property_databases: tuple[str, str],
    products: Products,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[httpx.Client]:
    """An orders process in one product-client mode; a client at its root."""
    products_url, orders_url = property_databases
    process = ServiceProcess(
        "orders",
        env={
            "APP_ENVIRONMENT": "testing",
            "APP_DATABASE_URL": orders_url,
            "APP_PRODUCTS_CLIENT": request.param,
            "APP_PRODUCTS_DATABASE_URL": products_url,
            "APP_PRODUCTS_URL": products.url,
            "APP_RUN_PRODUCTS_SWEEPER": "false",
            "APP_RUN_RECONCILER": "false",
            "APP_RUN_OUTBOX_RELAY": "false",
            "APP_LOG_LEVEL": "WARNING",
        },
        log_dir=Path(tmp_path_factory.mktemp("property-logs")),
    ).start(ready_timeout=60)
    try:
        with httpx.Client(base_url=process.url, timeout=30) as client:
            yield client
    finally:
        process.stop()


def user_headers(user: str) -> dict[str, str]:
    """A user's Authorization header (the default testing secret both apps share)."""
    return {"Authorization": f"Bearer {mint_user_token(_settings(), user, [])}"}
