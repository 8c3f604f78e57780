"""Unit fixtures: an in-memory product client and a migrated SQLite orders database."""

import logging
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from fakes import FakeProductClient, RecordingNotifier
from harness import OrdersApi, make_settings, running_api
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from orders.adapters.db.migrate import upgrade_orders_database
from orders.adapters.payments.fake import FakePayments
from servicekit.db import create_engine, session_factory


@pytest.fixture(scope="session")
async def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrated once per session; each test copies it (faster than re-running alembic)."""
    path = tmp_path_factory.mktemp("template") / "orders.db"
    await upgrade_orders_database(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture
def orders_db_url(migrated_template: Path, tmp_path: Path) -> str:
    """A fresh, migrated SQLite orders database for one test."""
    path = tmp_path / "orders.db"
    shutil.copy(migrated_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
async def engine(orders_db_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on the test's orders database, disposed after the test."""
    engine = create_engine(orders_db_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions on the test's orders database."""
    return session_factory(engine)


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """For tests of the CLI, which configures the root logger: undo it after the test."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def products() -> FakeProductClient:
    """The in-memory product client."""
    return FakeProductClient()


@pytest.fixture
def notifier() -> RecordingNotifier:
    """Collects e-mails instead of sending them."""
    return RecordingNotifier()


@pytest.fixture
def payments() -> FakePayments:
    """Deterministic payments."""
    return FakePayments()


@pytest.fixture
async def api(
    orders_db_url: str,
    products: FakeProductClient,
    notifier: RecordingNotifier,
    payments: FakePayments,
) -> AsyncIterator[OrdersApi]:
    """The app over SQLite and the fakes, background loops off."""
    async with running_api(
        make_settings(orders_db_url),
        product_client=products,
        notifications=notifier,
        payments=payments,
    ) as client:
        yield client
