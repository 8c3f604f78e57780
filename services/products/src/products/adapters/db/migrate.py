"""Where the products migrations live, and how to apply them."""

from pathlib import Path

import products
from servicekit.migrations import upgrade_async

# Inside the package so an installed wheel (Docker) still finds them.
MIGRATIONS_DIR = Path(products.__file__).parent / "migrations"


async def upgrade_products_database(database_url: str, revision: str = "head") -> None:
    """Bring the products schema at ``database_url`` up to ``revision``."""
    await upgrade_async(MIGRATIONS_DIR, database_url, revision)
