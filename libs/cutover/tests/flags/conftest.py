"""Fixtures of the flag store's tests: a clock, and a SQLite database holding the flag tables."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.cutover.tests.flags.example import T0, TABLES
from servicekit.clock import ManualClock
from servicekit.db import create_engine


@pytest.fixture
def clock() -> ManualClock:
    """A clock at ``T0``."""
    return ManualClock(T0)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """A fresh SQLite database with the two flag tables, as ``flag_tables`` defines them."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'flags.db'}")
    async with engine.begin() as connection:
        await connection.run_sync(TABLES.flags.metadata.create_all)
    yield engine
    await engine.dispose()
