"""Migrated throw-away databases for the contract tests: PostgreSQL, else a SQLite file.

With ``REQUIRE_POSTGRES=1`` (CI) a missing PostgreSQL fails instead of falling back.
"""

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, MetaData, Table, delete, insert, select
from sqlalchemy.engine import Connection

from servicekit.db import create_engine
from servicekit.testing import fresh_postgres_database, postgres_server_url

Upgrade = Callable[[str], Coroutine[Any, Any, None]]


@contextmanager
def migrated_database(prefix: str, upgrade: Upgrade, scratch: Path) -> Iterator[str]:
    """A fresh database with ``upgrade`` applied, for the duration of the block."""
    try:
        postgres_server_url()
    except pytest.skip.Exception:
        url = f"sqlite+aiosqlite:///{scratch / f'{prefix}.db'}"
        asyncio.run(upgrade(url))
        yield url
        return
    with fresh_postgres_database(prefix) as url:
        asyncio.run(upgrade(url))
        yield url


class Snapshot:
    """Every row of a database's tables as they were when taken; ``restore`` puts back exactly those.

    Tables are written parents first (foreign keys) and emptied children first.
    Columns are read and written untyped, so each value goes back as the driver
    gave it, with no type's conversion on the way (SQLite keeps its stored text).
    One connection, on an event loop of the snapshot's own, serves every restore.
    """

    def __init__(self, url: str) -> None:
        self._runner = asyncio.Runner()
        self._engine = create_engine(url, pool_size=1)
        self.tables: list[tuple[Table, list[dict[str, Any]]]] = []

    @classmethod
    @contextmanager
    def of(cls, url: str) -> Iterator["Snapshot"]:
        """The rows of every table of the database at ``url`` now, restorable during the block."""
        snapshot = cls(url)
        try:
            snapshot._runner.run(snapshot._take())
            yield snapshot
        finally:
            snapshot._runner.run(snapshot._engine.dispose())
            snapshot._runner.close()

    async def _take(self) -> None:
        async with self._engine.connect() as connection:
            for table in await connection.run_sync(_untyped_tables):
                rows = (await connection.execute(select(table))).mappings().all()
                self.tables.append((table, [dict(row) for row in rows]))

    def restore(self) -> None:
        """Every table back to the rows it had when taken, nothing more, in one transaction."""
        self._runner.run(self._restore())

    async def _restore(self) -> None:
        async with self._engine.begin() as connection:
            for table, _ in reversed(self.tables):
                await connection.execute(delete(table))
            for table, rows in self.tables:
                if rows:
                    await connection.execute(insert(table), rows)


def _untyped_tables(connection: Connection) -> list[Table]:
    """The database's tables, parents first, as columns without types (``NullType``)."""
    reflected = MetaData()
    reflected.reflect(connection)
    untyped = MetaData()
    return [
        Table(table.name, untyped, *(Column(column.name) for column in table.columns))
        for table in reflected.sorted_tables
    ]
