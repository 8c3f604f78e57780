"""Flags in PostgreSQL: shared by every process, changed under a row lock, audited."""

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
from fakes import FakeProductClient, RecordingNotifier
from harness import OrdersApi, make_settings, running_api
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from cutover.flags import SqlFlagStore
from orders.adapters.db.migrate import upgrade_orders_database
from orders.adapters.db.tables import feature_flag_changes, feature_flag_tables, feature_flags
from orders.bootstrap.flags import ORDERS_FLAGS
from orders.config import FeatureFlags
from servicekit.clock import utc_now
from servicekit.db import create_engine
from servicekit.testing import fresh_postgres_database

pytestmark = pytest.mark.postgres

FLAGS = "/api/v1/admin/flags"


@pytest.fixture
def database_url() -> Iterator[str]:
    """An orders database of its own: flags set here must not leak into other tests."""
    with fresh_postgres_database("orders_flags") as url:
        yield url


@pytest.fixture
async def migrated_url(database_url: str) -> str:
    await upgrade_orders_database(database_url)
    return database_url


@pytest.fixture
async def engine(migrated_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(migrated_url, pool_size=4)
    yield engine
    await engine.dispose()


def _running(url: str, products: FakeProductClient, **settings: Any) -> Any:
    return running_api(
        make_settings(url, flags_refresh_seconds=0.05, **settings),
        product_client=products,
        notifications=RecordingNotifier(),
    )


async def _eventually(check: Callable[[], Awaitable[bool]], within: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def _admin(api: OrdersApi) -> dict[str, str]:
    return api.auth("ops-lead", "admin")


async def test_a_change_through_one_instance_reaches_another_without_a_restart(
    migrated_url: str,
) -> None:
    products = FakeProductClient()
    lines = [(products.add(stock=100).id, 1) for _ in range(3)]
    async with (
        _running(migrated_url, products) as first,
        _running(migrated_url, products) as second,
    ):
        assert (await second.place("alice", lines)).status_code == 201

        changed = await first.http.patch(
            FLAGS,
            json={"changes": {"max_items_per_order": 2}, "reason": "incident 7"},
            headers={**_admin(first), "X-Request-ID": "req-incident-7"},
        )
        assert changed.status_code == 200, changed.text

        async def second_sees_it() -> bool:
            body = (await second.http.get(FLAGS, headers=_admin(second))).json()
            return bool(body["effective"]["max_items_per_order"] == 2)

        await _eventually(second_sees_it)
        refused = await second.place("alice", lines)
        history = (await second.http.get(f"{FLAGS}/history", headers=_admin(second))).json()

    assert (refused.status_code, refused.json()["code"]) == (422, "validation_error")
    [change] = history["items"]
    assert {k: v for k, v in change.items() if k != "changed_at"} == {
        "name": "max_items_per_order",
        "old_value": None,
        "new_value": 2,
        "actor": "ops-lead",
        "reason": "incident 7",
        "request_id": "req-incident-7",
    }


async def test_concurrent_changes_of_one_flag_each_audit_the_value_they_replaced(
    migrated_url: str, engine: AsyncEngine
) -> None:
    # Two processes (two engines, two stores) racing on one flag, from its first write on.
    other_engine = create_engine(migrated_url, pool_size=4)
    try:
        stores = [
            SqlFlagStore(engine, feature_flag_tables, ORDERS_FLAGS, FeatureFlags()),
            SqlFlagStore(other_engine, feature_flag_tables, ORDERS_FLAGS, FeatureFlags()),
        ]
        # Resets among the writes: a reset must also wait for a first write in flight.
        values: list[int | None] = [None if i % 4 == 3 else i for i in range(1, 25)]

        await asyncio.gather(
            *(
                stores[i % 2].change({"canary_share": v}, actor=f"actor-{i}", reason=f"r{i}")
                for i, v in enumerate(values)
            )
        )
    finally:
        await other_engine.dispose()

    async with engine.connect() as connection:
        audit = (
            await connection.execute(
                select(feature_flag_changes.c.old_value, feature_flag_changes.c.new_value)
                .where(feature_flag_changes.c.name == "canary_share")
                .order_by(feature_flag_changes.c.id)
            )
        ).all()
        stored = await connection.scalar(
            select(feature_flags.c.value).where(feature_flags.c.name == "canary_share")
        )

    assert len(audit) == len(values)
    # A chain: each change saw exactly what the one before it left.
    assert audit[0].old_value is None
    for before, after in itertools.pairwise(audit):
        assert after.old_value == before.new_value
    assert stored == audit[-1].new_value
    assert sorted(a.new_value or "" for a in audit) == sorted(
        "" if v is None else str(v) for v in values
    )


async def test_a_stored_value_that_no_longer_validates_never_fails_a_request(
    migrated_url: str, engine: AsyncEngine
) -> None:
    products = FakeProductClient()
    mug = products.add()
    async with engine.begin() as connection:
        await connection.execute(
            insert(feature_flags),
            [
                {
                    "name": name,
                    "value": value,
                    "updated_by": "someone",
                    "updated_at": utc_now(),
                    "reason": "before the limit was lowered",
                }
                for name, value in [("max_items_per_order", "80"), ("canary_share", "7")]
            ],
        )

    async with _running(migrated_url, products) as api:
        body = (await api.http.get(FLAGS, headers=_admin(api))).json()
        placed = await api.place("alice", [(mug.id, 1)])

    assert placed.status_code == 201
    assert body["effective"]["max_items_per_order"] == 50
    assert body["effective"]["canary_share"] == 7
    assert set(body["overrides"]) == {"canary_share"}
    assert body["ignored"] == {"max_items_per_order": "Input should be less than or equal to 50"}
