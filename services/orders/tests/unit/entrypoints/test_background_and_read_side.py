"""Lifespan wiring: the reconciler loop runs, and queries read from APP_READ_DATABASE_URL."""

import asyncio
import shutil
from pathlib import Path

from fakes import FakeProductClient
from harness import make_settings, running_api


async def test_background_reconciler_confirms_an_order_left_pending(
    orders_db_url: str, products: FakeProductClient
) -> None:
    mug = products.add()
    products.fail_next["confirm"] = 1
    settings = make_settings(
        orders_db_url,
        run_reconciler=True,
        reconcile_interval_seconds=0.05,
        reconcile_grace_seconds=0,
    )
    async with running_api(settings, product_client=products) as api:
        placed = (await api.place("alice", [(mug.id, 1)])).json()
        headers = api.auth("alice")
        statuses = [placed["status"]]
        for _ in range(100):
            await asyncio.sleep(0.05)
            order = await api.http.get(f"/api/v1/orders/{placed['id']}", headers=headers)
            statuses.append(order.json()["status"])
            if statuses[-1] != "pending":
                break

    assert statuses[0] == "pending"
    assert statuses[-1] == "confirmed"


async def test_queries_read_from_the_read_database(
    orders_db_url: str, products: FakeProductClient, migrated_template: Path, tmp_path: Path
) -> None:
    replica = tmp_path / "replica.db"
    shutil.copy(migrated_template, replica)
    settings = make_settings(orders_db_url, read_database_url=f"sqlite+aiosqlite:///{replica}")

    async with running_api(settings, product_client=products) as api:
        placed = await api.place("alice", [(products.add().id, 1)])
        listed = await api.http.get("/api/v1/orders", headers=api.auth("alice"))

    # Written to the primary; the (never replicated) read copy has not seen it.
    assert placed.status_code == 201
    assert listed.json()["total"] == 0
