"""CPU per statement: the same 3-product read through raw asyncpg and through SQLAlchemy (ADR 0022).

Runs each way of issuing the read 3,000 times in one process against one fresh
PostgreSQL database, two interleaved rounds, and prints client-side CPU
(``time.process_time``) and wall time per read. ADR 0011 cites it: at this price
per statement, the number of statements is what a request costs.

    uv run python bench/statement_cost.py   # PostgreSQL from TEST_DATABASE_URL
"""

import time
import uuid
from collections.abc import Awaitable, Callable

import asyncpg
import uvloop
from sqlalchemy import select, text
from sqlalchemy.util.concurrency import greenlet_spawn

from products.adapters.db.migrate import upgrade_products_database
from products.adapters.db.tables import products
from servicekit.db import autocommit_engine, create_engine
from servicekit.testing import fresh_postgres_database

READS = 3_000
RAW = "select * from products where id = any($1)"


async def main(url: str) -> None:
    await upgrade_products_database(url)
    pool = await asyncpg.create_pool(
        url.replace("postgresql+asyncpg", "postgresql", 1), min_size=4, max_size=4, ssl=False
    )
    engine = create_engine(url)
    autocommit = autocommit_engine(engine)
    ids = [uuid.uuid4() for _ in range(3)]

    async def raw() -> None:
        async with pool.acquire() as conn:
            await conn.fetch(RAW, ids)

    async def core() -> None:
        async with autocommit.connect() as conn:
            (await conn.execute(select(products).where(products.c.id.in_(ids)))).all()

    async def core_text() -> None:
        async with autocommit.connect() as conn:
            statement = text("select * from products where id = any(:ids)")
            (await conn.execute(statement, {"ids": ids})).all()

    async def driver_sql() -> None:
        async with autocommit.connect() as conn:
            (await conn.exec_driver_sql(RAW, (ids,))).all()

    async def pooled_driver() -> None:
        async with engine.connect() as conn:
            driver = (await conn.get_raw_connection()).driver_connection
            assert driver is not None  # a checked-out connection has one
            await driver.fetch(RAW, ids)

    async def raw_pooled() -> None:
        fairy = await engine.raw_connection()
        try:
            driver = fairy.driver_connection
            assert driver is not None  # a checked-out connection has one
            await driver.fetch(RAW, ids)
        finally:
            await greenlet_spawn(fairy.close)

    ways: dict[str, Callable[[], Awaitable[None]]] = {
        "SQLAlchemy raw_connection + asyncpg": raw_pooled,
        "SQLAlchemy exec_driver_sql": driver_sql,
        "SQLAlchemy pool + asyncpg": pooled_driver,
        "asyncpg": raw,
        "SQLAlchemy Core select()": core,
        "SQLAlchemy Core text()": core_text,
    }
    try:
        for round_no in range(2):
            for name, read in ways.items():
                for _ in range(100):
                    await read()
                cpu, wall = time.process_time(), time.perf_counter()
                for _ in range(READS):
                    await read()
                cpu_ms = 1000 * (time.process_time() - cpu) / READS
                wall_ms = 1000 * (time.perf_counter() - wall) / READS
                print(f"round {round_no}  {name:26} {cpu_ms:.3f} ms CPU  {wall_ms:.3f} ms wall")
    finally:
        await pool.close()
        await engine.dispose()


if __name__ == "__main__":
    with fresh_postgres_database("statement_cost") as database_url:
        uvloop.run(main(database_url))
