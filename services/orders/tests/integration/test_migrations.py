"""The orders migrations build exactly the schema the adapters use, and downgrade cleanly."""

from orders.adapters.db.migrate import MIGRATIONS, upgrade_orders_database
from orders.adapters.db.tables import metadata
from servicekit.migrations import downgrade_async
from servicekit.testing import schema_differences, table_names


async def test_migrated_schema_matches_the_table_definitions(empty_database_url: str) -> None:
    await upgrade_orders_database(empty_database_url)

    assert await schema_differences(empty_database_url, metadata) == []


async def test_downgrade_to_base_and_upgrade_again(empty_database_url: str) -> None:
    await upgrade_orders_database(empty_database_url)

    await downgrade_async(MIGRATIONS, empty_database_url, "base")
    emptied = await table_names(empty_database_url)
    await upgrade_orders_database(empty_database_url)
    again = await table_names(empty_database_url)

    assert emptied <= {"alembic_version"}
    assert again == set(metadata.tables) | {"alembic_version"}
