"""Migration 0004 renames the money columns in place: amounts written before it read back after."""

from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import create_async_engine

from orders.adapters.db.migrate import MIGRATIONS
from servicekit.migrations import upgrade_async

_ORDER = """
INSERT INTO orders (id, user_id, customer_email, idempotency_key, request_hash,
                    reservation_id, status, total_cents, currency, version,
                    created_at, updated_at)
VALUES ('00000000-0000-0000-0000-000000000001', 'alice', 'alice@example.com', 'k', 'h',
        '00000000-0000-0000-0000-000000000002', 'confirmed', 123456789012, 'USD', 1,
        CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)
"""


async def test_amounts_survive_the_rename_to_minor_units(empty_database_url: str) -> None:
    await upgrade_async(MIGRATIONS, empty_database_url, "0003")
    engine = create_async_engine(empty_database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(_ORDER))
        await upgrade_async(MIGRATIONS, empty_database_url)
        async with engine.connect() as connection:
            total = await connection.scalar(text("SELECT total_minor FROM orders"))
            columns = await connection.run_sync(
                lambda sync: [c["name"] for c in inspect(sync).get_columns("order_items")]
            )
    finally:
        await engine.dispose()
    assert total == 123456789012
    assert "unit_price_minor" in columns
    assert "unit_price_cents" not in columns
