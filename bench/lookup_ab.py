"""In-process A/B of one products lookup: engine settings before and after ADR 0008.

``old``: ``pool_pre_ping=True`` and the lookup in a transaction (as before);
``new``: ``servicekit.db.create_engine`` and the autocommit read view. Both
run in one process against one fresh PostgreSQL database, alternated over six
rounds of 2,000 lookups (3 products each), so background load falls on both
alike. Prints client-side CPU (``time.process_time``) and wall time per lookup.

    uv run python bench/lookup_ab.py   # PostgreSQL from TEST_DATABASE_URL
"""

import asyncio
import time
import uuid
from datetime import timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import create_async_engine

from products.adapters.db.queries import SqlAlchemyProductQueries
from products.facade import ProductsFacade, upgrade_products_database
from servicekit.db import create_engine
from servicekit.testing import fresh_postgres_database
from shop_contracts.products import ProductCreate, ProductLookup

ROUNDS = 6
LOOKUPS = 2_000
TTL = timedelta(minutes=15)


async def main() -> None:
    with fresh_postgres_database("lookup_ab") as url:
        await upgrade_products_database(url)
        old_engine = create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)

        # Not an autocommit view: the lookup runs inside a transaction, as before ADR 0008.
        old_queries = SqlAlchemyProductQueries(old_engine, old_engine)

        async def old_lookup(product_ids: list[uuid.UUID]) -> ProductLookup:
            return await old_queries.lookup_products(product_ids)

        new_engine = create_engine(url)
        new = ProductsFacade(
            new_engine,
            reservation_ttl=TTL,
            sweep_interval_seconds=60,
            max_bulk_import_size=100,
        )
        ids = [
            (
                await new.create_product(
                    ProductCreate(
                        sku=f"AB-{uuid.uuid4().hex[:8]}", name="x", price=Decimal("1.00"), stock=5
                    )
                )
            ).id
            for _ in range(3)
        ]
        lookups = {"old": old_lookup, "new": new.lookup_products}
        for lookup in lookups.values():  # warm: connections, statement caches
            for _ in range(300):
                await lookup(ids)
        results: dict[str, list[tuple[float, float]]] = {"old": [], "new": []}
        for round_no in range(ROUNDS):
            order = ["old", "new"] if round_no % 2 == 0 else ["new", "old"]
            for name in order:
                cpu, wall = time.process_time(), time.perf_counter()
                for _ in range(LOOKUPS):
                    await lookups[name](ids)
                results[name].append(
                    (
                        (time.process_time() - cpu) / LOOKUPS * 1000,
                        (time.perf_counter() - wall) / LOOKUPS * 1000,
                    )
                )
        for name, rows in results.items():
            print(
                f"{name}: CPU ms/lookup {[round(c, 3) for c, _ in rows]}, "
                f"wall ms {[round(w, 3) for _, w in rows]}"
            )
        await old_engine.dispose()
        await new_engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
