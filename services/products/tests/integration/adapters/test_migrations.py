"""The migrations build exactly the schema the adapters use, and downgrade cleanly."""

from sqlalchemy import CheckConstraint, inspect

from products.adapters.db.migrate import MIGRATIONS_DIR
from products.adapters.db.tables import metadata
from products.facade import upgrade_products_database
from servicekit.db import create_engine
from servicekit.migrations import downgrade_async
from servicekit.testing import schema_differences, table_names


async def test_migrated_schema_matches_the_table_definitions(isolated_database_url: str) -> None:
    await upgrade_products_database(isolated_database_url)

    assert await schema_differences(isolated_database_url, metadata) == []


async def test_downgrade_to_base_removes_every_table(isolated_database_url: str) -> None:
    await upgrade_products_database(isolated_database_url)

    await downgrade_async(MIGRATIONS_DIR, isolated_database_url, "base")

    assert await table_names(isolated_database_url) <= {"alembic_version"}


async def test_check_constraints_carry_the_names_the_tables_declare(
    isolated_database_url: str,
) -> None:
    # schema_differences (alembic's comparison) does not look at CHECK constraints.
    await upgrade_products_database(isolated_database_url)
    engine = create_engine(isolated_database_url, pool_size=1)
    try:
        async with engine.connect() as connection:
            migrated = await connection.run_sync(
                lambda sync: {
                    table: {check["name"] for check in inspect(sync).get_check_constraints(table)}
                    for table in metadata.tables
                }
            )
    finally:
        await engine.dispose()

    declared = {
        table.name: {c.name for c in table.constraints if isinstance(c, CheckConstraint)}
        for table in metadata.tables.values()
    }
    assert migrated == declared
