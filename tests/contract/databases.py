"""Migrated throw-away databases for the contract tests: PostgreSQL, else a SQLite file.

With ``REQUIRE_POSTGRES=1`` (CI) a missing PostgreSQL fails instead of falling back.
"""

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

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
