"""read_engine: on SQLite a deferred read that neither waits for a writer nor holds one up."""

import asyncio
from pathlib import Path

from sqlalchemy import text

from servicekit.db import create_engine, read_engine


async def test_sqlite_reads_and_writes_do_not_wait_for_each_other(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    reads = read_engine(engine)
    try:
        async with engine.begin() as setup:
            await setup.execute(text("CREATE TABLE t (n INTEGER)"))
            await setup.execute(text("INSERT INTO t VALUES (1)"))

        async with engine.begin() as writer:  # BEGIN IMMEDIATE: holds the write lock
            await writer.execute(text("INSERT INTO t VALUES (2)"))
            async with reads.connect() as reader:
                seen = await asyncio.wait_for(reader.scalar(text("SELECT sum(n) FROM t")), 10)
        assert seen == 1  # the committed rows, without waiting for the writer

        async with reads.connect() as reader:
            assert await reader.scalar(text("SELECT sum(n) FROM t")) == 3
            # A read transaction still open does not hold a writer up.
            async with engine.begin() as writer:
                await asyncio.wait_for(writer.execute(text("INSERT INTO t VALUES (4)")), 10)
    finally:
        await engine.dispose()
