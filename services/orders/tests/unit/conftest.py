"""Unit fixtures: an in-memory product client and a migrated SQLite orders database."""

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fakes import FakeProductClient, RecordingNotifier
from harness import OrdersApi, make_settings, running_api

from orders.adapters.db.migrate import upgrade_orders_database
from orders.adapters.payments.fake import FakePayments


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
