"""The migrations build exactly the schema the adapters use, and downgrade cleanly."""

import asyncio

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from products.adapters.schema import MIGRATIONS_DIR
from products.adapters.tables import metadata
from products.facade import upgrade_products_database
from servicekit.db import create_engine
from servicekit.migrations import alembic_config


def _differences(connection: Connection) -> list[object]:
    return list(compare_metadata(MigrationContext.configure(connection), metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_migrated_schema_matches_the_table_definitions(isolated_database_url: str) -> None:
    await upgrade_products_database(isolated_database_url)
    engine = create_engine(isolated_database_url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
    finally:
        await engine.dispose()


async def test_downgrade_to_base_removes_every_table(isolated_database_url: str) -> None:
    await upgrade_products_database(isolated_database_url)
    config = alembic_config(MIGRATIONS_DIR, isolated_database_url)

    await asyncio.to_thread(command.downgrade, config, "base")

    engine = create_engine(isolated_database_url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_tables) <= {"alembic_version"}
    finally:
        await engine.dispose()
