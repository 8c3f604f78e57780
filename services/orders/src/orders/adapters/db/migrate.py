"""Apply the orders migrations (shipped inside the package)."""

from pathlib import Path

import orders
from servicekit.migrations import upgrade_async

MIGRATIONS = Path(orders.__file__).parent / "migrations"


async def upgrade_orders_database(database_url: str) -> None:
    """Upgrade the orders database to head."""
    await upgrade_async(MIGRATIONS, database_url)
