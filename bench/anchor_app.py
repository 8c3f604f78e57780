"""Reference rows for ``just bench``: the same stack on the same machine with nothing of
ours in the way. The benchmark runs it in the same invocation as the services and
reports orders' rows as ratios to it.

- GET /sa/quote   3 products by id through SQLAlchemy async (Core text), one connection checkout
- GET /pg/quote   the same through a raw asyncpg pool
- POST /sa/order  one transaction: conditional stock UPDATE ... RETURNING + 2 INSERTs (SQLAlchemy)
- POST /pg/order  the same through raw asyncpg

It has no auth, no middleware, no validation and no second service: an upper bound,
not a peer. The lifespan creates its tables and 50 products on first start (idempotent).

    ANCHOR_DSN=postgresql://postgres@127.0.0.1:5432/<db> \\
        uvicorn --app-dir bench --factory anchor_app:create_app   (+ the services' flags)
"""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

SCHEMA = """
create table if not exists anchor_products(id int primary key, name text, price numeric(12,2), stock int);
insert into anchor_products select g, 'p' || g, 10.00, 100000000 from generate_series(1, 50) g
  on conflict (id) do nothing;
create table if not exists anchor_orders(id bigserial primary key, user_id int, total numeric(12,2),
  created_at timestamptz default now());
create table if not exists anchor_order_items(order_id bigint references anchor_orders(id), product_id int,
  qty int, price numeric(12,2));
"""
READ_SA = "select id, name, price from anchor_products where id = any(:ids)"
READ_PG = "select id, name, price from anchor_products where id = any($1)"
TAKE = "update anchor_products set stock = stock - 1 where id = 1 and stock >= 1 returning price"
ORDER_SA = "insert into anchor_orders(user_id, total) values (1, :t) returning id"
ORDER_PG = "insert into anchor_orders(user_id, total) values (1, $1) returning id"
ITEM_SA = "insert into anchor_order_items values (:o, 1, 1, :p)"
ITEM_PG = "insert into anchor_order_items values ($1, 1, 1, $2)"


def create_app() -> FastAPI:
    """The four reference endpoints over ``ANCHOR_DSN`` (pool ``ANCHOR_POOL``, default 20)."""
    dsn = os.environ.get("ANCHOR_DSN", "postgresql://postgres@127.0.0.1:5432/bench_anchor")
    size = int(os.environ.get("ANCHOR_POOL", "20"))
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        state["pool"] = await asyncpg.create_pool(dsn, min_size=size, max_size=size)
        async with state["pool"].acquire() as conn:
            await conn.execute(SCHEMA)
        engine = create_async_engine(
            dsn.replace("postgresql://", "postgresql+asyncpg://", 1),
            pool_size=size,
            max_overflow=0,
        )
        state["sessions"] = async_sessionmaker(engine, expire_on_commit=False)
        yield
        await engine.dispose()
        await state["pool"].close()

    app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/ready")
    async def ready() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/sa/quote")
    async def sa_quote() -> dict[str, Any]:
        async with state["sessions"]() as session:
            rows = (await session.execute(text(READ_SA), {"ids": [1, 2, 3]})).all()
        lines = [{"id": r.id, "name": r.name, "price": str(r.price)} for r in rows]
        return {"lines": lines, "total": str(sum(r.price for r in rows))}

    @app.get("/pg/quote")
    async def pg_quote() -> dict[str, Any]:
        async with state["pool"].acquire() as conn:
            rows = await conn.fetch(READ_PG, [1, 2, 3])
        lines = [{"id": r["id"], "name": r["name"], "price": str(r["price"])} for r in rows]
        return {"lines": lines, "total": str(sum(r["price"] for r in rows))}

    @app.post("/sa/order")
    async def sa_order() -> dict[str, Any]:
        async with state["sessions"]() as session, session.begin():
            price = (await session.execute(text(TAKE))).scalar_one()
            order_id = (await session.execute(text(ORDER_SA), {"t": price})).scalar_one()
            await session.execute(text(ITEM_SA), {"o": order_id, "p": price})
        return {"id": order_id}

    @app.post("/pg/order")
    async def pg_order() -> dict[str, Any]:
        async with state["pool"].acquire() as conn, conn.transaction():
            price = await conn.fetchval(TAKE)
            order_id = await conn.fetchval(ORDER_PG, price)
            await conn.execute(ITEM_PG, order_id, price)
        return {"id": order_id}

    return app
