"""Fixtures shared by the products tests: migrated databases on SQLite and PostgreSQL."""

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from products.facade import ProductsFacade, upgrade_products_database
from products.testing import Catalogue, FrozenClock
from servicekit.testing import empty_database, fresh_postgres_database

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


async def _migrated_sqlite(directory: Path) -> str:
    url = f"sqlite+aiosqlite:///{directory / 'products.db'}"
    await upgrade_products_database(url)
    return url


@pytest.fixture(scope="session", params=BACKENDS)
async def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """A migrated products database shared by the session (tests use their own products)."""
    if request.param == "sqlite":
        yield await _migrated_sqlite(tmp_path_factory.mktemp("sqlite"))
        return
    with fresh_postgres_database("products") as url:
        await upgrade_products_database(url)
        yield url


@pytest.fixture(params=BACKENDS)
def isolated_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty, unmigrated database of its own, for tests that look at every row."""
    with empty_database(
        request.param, sqlite_file=tmp_path / "products.db", postgres_prefix="products"
    ) as url:
        yield url


@pytest.fixture
def clock() -> FrozenClock:
    """Time starts at the real now and only moves when a test says so."""
    return FrozenClock()


@pytest.fixture
async def facade(database_url: str, clock: FrozenClock) -> AsyncIterator[ProductsFacade]:
    """The public in-process API over the shared database, sweeper off, TTL 60 s, frozen clock."""
    facade = ProductsFacade.from_database_url(
        database_url,
        reservation_ttl_seconds=60,
        sweep_interval_seconds=60,
        max_bulk_import_size=3,
        pool_size=5,
        clock=clock,
    )
    yield facade
    await facade.aclose()


@pytest.fixture
def catalogue(facade: ProductsFacade) -> Catalogue:
    """Test product factory."""
    return Catalogue(facade)
