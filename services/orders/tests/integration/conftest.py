"""Integration fixtures: orders and products databases migrated for the session; an empty one per test."""

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from orders.adapters.db.migrate import upgrade_orders_database
from products.facade import ProductsFacade, upgrade_products_database
from products.testing import Catalogue
from servicekit.testing import empty_database, fresh_postgres_database


@dataclass(frozen=True)
class Databases:
    """The two databases a local-mode orders process uses."""

    orders: str
    products: str


@pytest.fixture(scope="session")
def pg_databases() -> Iterator[Databases]:
    """Fresh PostgreSQL databases for orders and products (tests use their own users/products)."""
    with (
        fresh_postgres_database("orders") as orders_url,
        fresh_postgres_database("products") as products_url,
    ):
        yield Databases(orders_url, products_url)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty, unmigrated orders database of the test's own, on SQLite and on PostgreSQL."""
    with empty_database(
        request.param, sqlite_file=tmp_path / "orders.db", postgres_prefix="orders_empty"
    ) as url:
        yield url


@pytest.fixture(scope="session")
async def migrated(pg_databases: Databases) -> Databases:
    """Both databases at head, through each service's own migrations."""
    await upgrade_orders_database(pg_databases.orders)
    await upgrade_products_database(pg_databases.products)
    return pg_databases


@pytest.fixture
async def catalogue(migrated: Databases) -> AsyncIterator[Catalogue]:
    """Puts products with stock into the products database (as an admin would)."""
    products = ProductsFacade.from_database_url(
        migrated.products, reservation_ttl_seconds=60, sweep_interval_seconds=60, pool_size=2
    )
    yield Catalogue(products)
    await products.aclose()


def local_mode(databases: Databases, **overrides: Any) -> dict[str, Any]:
    """Settings overrides for APP_PRODUCTS_CLIENT=local over the test databases."""
    values: dict[str, Any] = {
        "products_client": "local",
        "products_database_url": databases.products,
        "run_products_sweeper": False,
        "db_pool_size": 20,
    }
    values.update(overrides)
    return values
