"""Run a service's alembic migrations programmatically (CLI, startup, tests).

alembic is imported only when a migration runs: it is the largest import of a
service (BENCHMARKS.md, start-up), and a server that does not migrate on startup
should not pay for it.
"""

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alembic.config import Config


def alembic_config(script_location: Path, database_url: str) -> "Config":
    """An alembic Config pointing at a service's migrations and a database."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(script_location: Path, database_url: str, revision: str = "head") -> None:
    """Upgrade synchronously (call from a thread when an event loop is running)."""
    from alembic import command

    command.upgrade(alembic_config(script_location, database_url), revision)


async def upgrade_async(script_location: Path, database_url: str, revision: str = "head") -> None:
    """Upgrade from async code without blocking the loop (env.py runs its own loop)."""
    await asyncio.to_thread(upgrade, script_location, database_url, revision)


def downgrade(script_location: Path, database_url: str, revision: str) -> None:
    """Downgrade synchronously to ``revision`` (``"base"``: every migration undone)."""
    from alembic import command

    command.downgrade(alembic_config(script_location, database_url), revision)


async def downgrade_async(script_location: Path, database_url: str, revision: str) -> None:
    """Downgrade from async code without blocking the loop."""
    await asyncio.to_thread(downgrade, script_location, database_url, revision)
