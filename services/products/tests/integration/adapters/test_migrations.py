"""The migrations build exactly the schema the adapters use, and downgrade cleanly."""

from products.adapters.db.migrate import MIGRATIONS_DIR
from products.adapters.db.tables import metadata
from products.facade import upgrade_products_database
from servicekit.migrations import downgrade_async
from servicekit.testing import schema_differences, table_names


async def test_migrated_schema_matches_the_table_definitions(isolated_database_url: str) -> None:
    await upgrade_products_database(isolated_database_url)

    assert await schema_differences(isolated_database_url, metadata) == []


async def test_downgrade_to_base_removes_every_table(isolated_database_url: str) -> None:
    await upgrade_products_database(isolated_database_url)

    await downgrade_async(MIGRATIONS_DIR, isolated_database_url, "base")

    assert await table_names(isolated_database_url) <= {"alembic_version"}
