"""Run a service's alembic migrations programmatically (CLI, startup, tests).

alembic is imported only when a migration runs: it is the largest import of a
service (BENCHMARKS.md, start-up), and a server that does not migrate on startup
should not pay for it. ``run_env`` is the whole of each service's ``env.py``.
"""

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy import MetaData
    from sqlalchemy.engine import Connection


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


def run_env(metadata: "MetaData") -> None:
    """The body of a service's alembic ``env.py``, online or offline (``--sql``).

    Online, migrations run over ``servicekit.db.create_engine``, the engine the
    service itself uses: on SQLite foreign keys are on and each migration's
    transaction is ``BEGIN IMMEDIATE``; on PostgreSQL TLS and tracing are as
    the service has them. Offline, values are rendered into the SQL
    (``literal_binds``) so the script runs as written. ``metadata`` is the
    service's tables (autogenerate compares against it; its naming convention
    also names the constraints of migration operations, so a migration that
    spells a final name marks it ``op.f``); on SQLite autogenerate writes batch
    operations. A config without ``sqlalchemy.url`` is a
    ``RuntimeError`` in both modes (ADR 0010).
    """
    from alembic import context

    from servicekit.db import is_sqlite

    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("alembic config has no sqlalchemy.url")
    options: dict[str, Any] = {"target_metadata": metadata, "render_as_batch": is_sqlite(url)}
    if context.is_offline_mode():
        context.configure(url=url, literal_binds=True, **options)
        with context.begin_transaction():
            context.run_migrations()
        return
    asyncio.run(_run_online(url, options))


async def _run_online(url: str, options: dict[str, Any]) -> None:
    from servicekit.db import create_engine

    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run_migrations, options)
    finally:
        await engine.dispose()


def _run_migrations(connection: "Connection", options: dict[str, Any]) -> None:
    from alembic import context

    context.configure(connection=connection, **options)
    with context.begin_transaction():
        context.run_migrations()
