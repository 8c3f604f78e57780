"""The orders migrations build exactly the schema the adapters use, and downgrade cleanly."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from orders.adapters.db.migrate import MIGRATIONS, upgrade_orders_database
from orders.adapters.db.tables import metadata
from servicekit.migrations import downgrade_async
from servicekit.testing import empty_database, schema_differences, table_names


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with empty_database(
        request.param, sqlite_file=tmp_path / "orders.db", postgres_prefix="orders_migrations"
    ) as url:
        yield url


async def test_migrated_schema_matches_the_table_definitions(database_url: str) -> None:
    await upgrade_orders_database(database_url)

    assert await schema_differences(database_url, metadata) == []


async def test_downgrade_to_base_and_upgrade_again(database_url: str) -> None:
    await upgrade_orders_database(database_url)

    await downgrade_async(MIGRATIONS, database_url, "base")
    emptied = await table_names(database_url)
    await upgrade_orders_database(database_url)
    again = await table_names(database_url)

    assert emptied <= {"alembic_version"}
    assert again == set(metadata.tables) | {"alembic_version"}
