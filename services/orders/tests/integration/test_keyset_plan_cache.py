"""A cursor page is planned once per connection, not on every call, however long the history.

asyncpg prepares each statement once per connection; PostgreSQL plans its
first five runs for their values, then keeps a generic plan if that costs no
more. The keyset statement's plan is the same for every user (the backward
scan of ``(user_id, created_at, id)``), but with a bound ``LIMIT`` the generic
plan is costed as reading a tenth of an average user's orders: once users
average a few hundred orders that costs more than the 21 rows the custom plan
counts, and every page was planned afresh (~0.1 ms; BENCHMARKS.md, "Scaling
check"). Here ten users with 1,500 orders each, analysed: long enough that all
four keyset statements (first and next page, with and without a status) were
planned on every call before the page's rows were capped by a literal.
"""

import random
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from orders.adapters.db.migrate import upgrade_orders_database
from orders.adapters.db.queries import SqlOrderQueries
from orders.application.queries import ListUserOrders
from orders.domain.status import OrderStatus
from servicekit.db import autocommit_engine, create_engine
from servicekit.testing import asyncpg_connect_args, fresh_postgres_database
from shop_contracts.pagination import Keyset

pytestmark = pytest.mark.postgres

USERS = 10
ORDERS_PER_USER = 1_500


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    with fresh_postgres_database("orders_plan_cache") as url:
        yield url


@pytest.fixture(scope="module")
async def history(database_url: str) -> str:
    """``USERS`` users with ``ORDERS_PER_USER`` orders each (one line each), analysed."""
    await upgrade_orders_database(database_url)
    rng = random.Random(23)
    now = datetime(2026, 3, 1, tzinfo=UTC)
    statuses = [s.value for s in (OrderStatus.CONFIRMED, OrderStatus.CANCELLED)]
    order_rows: list[tuple[Any, ...]] = []
    item_rows: list[tuple[Any, ...]] = []
    for n in range(USERS * ORDERS_PER_USER):
        order_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        created = now - timedelta(minutes=n)
        status = rng.choice(statuses)
        order_rows.append(
            (order_id, f"user-{n % USERS}", f"key-{n}", "0" * 64, uuid.uuid4(), status, created)
        )
        item_rows.append((order_id, uuid.uuid4()))
    conn = await asyncpg.connect(**asyncpg_connect_args(make_url(database_url)))
    try:
        await conn.executemany(
            "INSERT INTO orders (id, user_id, idempotency_key, request_hash, reservation_id,"
            " status, currency, total_minor, version, created_at, updated_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, 'EUR', 500, 1, $7, $7)",
            order_rows,
        )
        await conn.executemany(
            "INSERT INTO order_items (order_id, line_no, product_id, product_name, quantity,"
            " unit_price_minor, currency) VALUES ($1, 1, $2, 'A product', 1, 500, 'EUR')",
            item_rows,
        )
        await conn.execute("VACUUM ANALYZE orders")
        await conn.execute("VACUUM ANALYZE order_items")
    finally:
        await conn.close()
    return database_url


@pytest.fixture
async def queries(history: str) -> AsyncIterator[tuple[SqlOrderQueries, Any]]:
    # One connection: every call reuses the statement it prepared.
    engine = create_engine(history, pool_size=1)
    try:
        yield SqlOrderQueries(engine, autocommit_engine(engine)), engine
    finally:
        await engine.dispose()


@pytest.mark.parametrize("status", [None, OrderStatus.CONFIRMED])
async def test_cursor_pages_keep_a_generic_plan(
    queries: tuple[SqlOrderQueries, Any], status: OrderStatus | None
) -> None:
    handler, engine = queries
    first = ListUserOrders(user_id="user-3", page_size=20, status=status, cursor_mode=True)
    page = await handler.list_user_orders(first)
    assert len(page.items) == 20
    assert page.next_cursor is not None
    assert (page.total, page.total_exact) == (100, False)
    after = page.items[-1]
    for _ in range(10):
        await handler.list_user_orders(first)
    for _ in range(10):
        deeper = await handler.list_user_orders(
            ListUserOrders(
                user_id="user-3",
                page_size=20,
                status=status,
                cursor_mode=True,
                after=Keyset(after.created_at, after.id, 2),
            )
        )
        assert deeper.items[0].created_at < after.created_at
    async with engine.connect() as conn:
        plans = (
            await conn.execute(
                text(
                    "SELECT generic_plans, custom_plans FROM pg_prepared_statements"
                    " WHERE statement LIKE '%AS item_count%'"
                    " AND statement NOT LIKE '%pg_prepared_statements%'"
                )
            )
        ).all()
    # The first page's statement and the next page's: each planned for its values
    # the five times PostgreSQL always does, then generic (0 custom plans after).
    assert len(plans) == 2
    assert all(generic > 0 and custom == 5 for generic, custom in plans), plans
