"""Fresh PostgreSQL databases for one benchmark run, migrated, dropped at the end."""

import asyncio
import os
import secrets
import subprocess
import sys
import time
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from bench.e2e.paths import DEFAULT_DATABASE_URL, ROOT


def raw_dsn(url: str) -> str:
    """The libpq DSN (for asyncpg and the anchor app) of a SQLAlchemy URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class Databases:
    """Fresh databases on the server of ``TEST_DATABASE_URL``; dropped at the end."""

    def __init__(self, url: str | None = None) -> None:
        self._url = make_url(url or os.environ.get("TEST_DATABASE_URL") or DEFAULT_DATABASE_URL)
        self._tag = f"bench_{int(time.time())}_{secrets.token_hex(3)}"
        self.created: list[str] = []

    def url(self, database: str) -> str:
        """SQLAlchemy URL of ``database`` on the same server."""
        return self._url.set(drivername="postgresql+asyncpg", database=database).render_as_string(
            hide_password=False
        )

    def _admin_dsn(self) -> str:
        return raw_dsn(self.url(self._url.database or "postgres"))

    async def create(self, name: str) -> str:
        """Create ``<run tag>_<name>``; its SQLAlchemy URL."""
        database = f"{self._tag}_{name}"
        conn = await asyncpg.connect(self._admin_dsn())
        try:
            await conn.execute(f'CREATE DATABASE "{database}"')
        finally:
            await conn.close()
        self.created.append(database)
        return self.url(database)

    async def drop_all(self) -> None:
        """Drop every database this run created."""
        conn = await asyncpg.connect(self._admin_dsn())
        try:
            for database in self.created:
                await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        finally:
            await conn.close()


async def vacuum_analyze(url: str) -> None:
    """Fresh planner statistics after loading data."""
    conn = await asyncpg.connect(raw_dsn(url))
    try:
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


async def server_facts(url: str) -> dict[str, Any]:
    """The PostgreSQL server's version and connection limit."""
    conn = await asyncpg.connect(raw_dsn(url))
    try:
        version = await conn.fetchval("SHOW server_version")
        max_connections = await conn.fetchval("SHOW max_connections")
    finally:
        await conn.close()
    return {"server_version": version, "max_connections": max_connections}


def run_cli(module: str, *args: str, env: dict[str, str]) -> None:
    """Run a service CLI (e.g. ``products.entrypoints.cli migrate``) to completion."""
    # Our own interpreter and module names: no untrusted input reaches the argv.
    # Throw-away databases, migrated before any service starts: no secrets needed.
    subprocess.run(  # noqa: S603
        [sys.executable, "-m", module, *args],
        env={**os.environ, "APP_ENVIRONMENT": "testing", **env},
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=120,
    )


def migrate_products(url: str) -> None:
    """Products' migrations, through its CLI."""
    run_cli("products.entrypoints.cli", "migrate", env={"APP_DATABASE_URL": url})


def migrate_orders(url: str) -> None:
    """Orders' migrations (its own database only), through its CLI."""
    env = {"APP_DATABASE_URL": url, "APP_PRODUCTS_CLIENT": "http"}
    run_cli("orders.entrypoints.cli", "migrate", env=env)


async def outbox_drain(url: str, wait_seconds: float = 30.0) -> dict[str, Any]:
    """Events still in orders' outbox when the load stops, and how long the relay takes to clear them.

    An orders row counts orders placed; events the relay has not yet handed on
    are work deferred past the cell, so the row reports them beside its req/s.
    """
    conn = await asyncpg.connect(raw_dsn(url))
    try:
        query = "SELECT status, count(*) FROM outbox GROUP BY status"
        counts = dict(await conn.fetch(query))
        pending_at_end = int(counts.get("pending", 0))
        started = time.monotonic()
        pending = pending_at_end
        while pending and time.monotonic() - started < wait_seconds:
            await asyncio.sleep(0.5)
            pending = int(
                await conn.fetchval("SELECT count(*) FROM outbox WHERE status = 'pending'")
            )
        counts = dict(await conn.fetch(query))
    finally:
        await conn.close()
    return {
        "pending_at_end": pending_at_end,
        "seconds_to_drain": round(time.monotonic() - started, 1) if not pending else None,
        "statuses_after": {str(k): int(v) for k, v in counts.items()},
    }
