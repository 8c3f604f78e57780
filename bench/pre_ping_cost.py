"""What refusing dead pooled connections costs per request, and what each way of doing it catches.

Three engines over one PostgreSQL server this script starts (its own, on a free
port under a temporary folder, so it may terminate the backends): no check,
SQLAlchemy's ``pool_pre_ping``, and ``servicekit.db.refuse_closed_connections``
(asyncpg's closed flag at checkout, no round trip). For each, interleaved rounds
of REQUESTS sequential requests of two shapes print client CPU
(``time.process_time``) and wall time per request; then, TERMINATIONS times per
pause, the pool's backends are terminated (``pg_terminate_backend``) and the next requests
are counted as failed or not. ADR 0019 cites it.

    uv run python -m bench.pre_ping_cost
"""

import asyncio
import os
import time
from collections.abc import Awaitable, Callable

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from servicekit.db import refuse_closed_connections, tls_connect_args
from tests.support.owned_postgres import HOST, owned_postgres

REQUESTS = int(os.environ.get("PRE_PING_REQUESTS", "2000"))
ROUNDS = 3
POOL = 5
AFTER_TERMINATE = 10  # requests counted after each termination
TERMINATIONS = 10
# The first request right after the terminate returns, and one arriving a moment later.
PAUSES = (0.0, 0.005)


def _engine(url: str, variant: str) -> AsyncEngine:
    engine = create_async_engine(
        url,
        pool_size=POOL,
        max_overflow=0,
        pool_pre_ping=variant == "pre-ping",
        connect_args=tls_connect_args(url),
    )
    if variant == "closed-check":
        refuse_closed_connections(engine)
    return engine


async def _transaction(engine: AsyncEngine) -> None:
    # The shape of a unit of work: BEGIN, one statement, COMMIT.
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
        await conn.commit()


async def _autocommit_read(engine: AsyncEngine) -> None:
    # The shape of an idempotency lookup or a get: one statement, no transaction.
    async with engine.execution_options(isolation_level="AUTOCOMMIT").connect() as conn:
        await conn.execute(text("SELECT 1"))


Shape = Callable[[AsyncEngine], Awaitable[None]]


async def _cost(engine: AsyncEngine, shape: Shape) -> tuple[float, float]:
    await asyncio.gather(*(shape(engine) for _ in range(POOL)))  # warm the pool
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(REQUESTS):
        await shape(engine)
    return (
        (time.process_time() - cpu) / REQUESTS * 1000,
        (time.perf_counter() - wall) / REQUESTS * 1000,
    )


async def _terminate(port: int, database: str) -> None:
    conn = await asyncpg.connect(host=HOST, port=port, user="postgres")
    try:
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = $1 AND pid <> pg_backend_pid()",
            database,
        )
    finally:
        await conn.close()


async def _failures_after_terminate(
    engine: AsyncEngine, port: int, database: str, pause: float
) -> int:
    for _ in range(2):  # a pool without checks may still hold the last round's dead ones
        await asyncio.gather(*(_transaction(engine) for _ in range(POOL)), return_exceptions=True)
    await _terminate(port, database)
    await asyncio.sleep(pause)
    failed = 0
    for _ in range(AFTER_TERMINATE):
        try:
            await _transaction(engine)
        except Exception:
            failed += 1
    return failed


async def main(url: str, port: int, database: str) -> None:
    variants = ("none", "pre-ping", "closed-check")
    engines = {v: _engine(url, v) for v in variants}
    shapes: dict[str, Shape] = {"transaction": _transaction, "autocommit read": _autocommit_read}
    try:
        for round_number in range(1, ROUNDS + 1):
            print(f"round {round_number}, load average {os.getloadavg()[0]:.2f}")
            for name, shape in shapes.items():
                for variant in variants:
                    cpu, wall = await _cost(engines[variant], shape)
                    print(f"  {name:16} {variant:13} cpu {cpu:.3f} ms  wall {wall:.3f} ms")
        for pause in PAUSES:
            for variant in variants:
                failed = [
                    await _failures_after_terminate(engines[variant], port, database, pause)
                    for _ in range(TERMINATIONS)
                ]
                print(
                    f"{pause * 1000:3.0f} ms after pg_terminate_backend, {variant:13}:"
                    f" {sum(failed)} of {AFTER_TERMINATE * TERMINATIONS} requests failed"
                )
    finally:
        for engine in engines.values():
            await engine.dispose()


if __name__ == "__main__":
    with owned_postgres() as server:
        database = "pre_ping_cost"
        asyncio.run(main(server.create_database(database), server.port, database))
