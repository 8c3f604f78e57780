"""The orders migrations build exactly the schema the adapters use, and downgrade cleanly."""

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from orders.adapters.db.migrate import MIGRATIONS, upgrade_orders_database
from orders.adapters.db.tables import metadata
from servicekit.db import create_engine
from servicekit.migrations import alembic_config
from servicekit.testing import fresh_postgres_database


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'orders.db'}"
        return
    with fresh_postgres_database("orders_migrations") as url:
        yield url


def _differences(connection: Connection) -> list[object]:
    return list(compare_metadata(MigrationContext.configure(connection), metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_migrated_schema_matches_the_table_definitions(database_url: str) -> None:
    await upgrade_orders_database(database_url)
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
    finally:
        await engine.dispose()


async def test_downgrade_to_base_and_upgrade_again(database_url: str) -> None:
    await upgrade_orders_database(database_url)
    config = alembic_config(MIGRATIONS, database_url)

    await asyncio.to_thread(command.downgrade, config, "base")
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            emptied = await connection.run_sync(_tables)
        await upgrade_orders_database(database_url)
        async with engine.connect() as connection:
            again = await connection.run_sync(_tables)
    finally:
        await engine.dispose()

    assert emptied <= {"alembic_version"}
    assert again == set(metadata.tables) | {"alembic_version"}
