"""Both stores over any service's flags: audited changes, the compare-and-set, the canary's close."""

import asyncio
import logging
from datetime import datetime, timedelta

import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from cutover.flags import (
    FALLBACK_ACTOR,
    FlagChange,
    FlagStore,
    InMemoryFlagStore,
    SqlFlagStore,
    StoredFlags,
    close_canary,
)
from libs.cutover.tests.flags.example import (
    DEFAULTS,
    SHOP_FLAGS,
    T0,
    TABLES,
    InventoryMode,
    ShopFlags,
)
from servicekit.clock import ManualClock

Store = FlagStore[ShopFlags]


@pytest.fixture(params=["memory", "sqlite"])
def database(request: pytest.FixtureRequest) -> AsyncEngine | None:
    """The SQLite database of the test's SQL store; None for the store in memory."""
    if request.param == "memory":
        return None
    engine = request.getfixturevalue("engine")
    assert isinstance(engine, AsyncEngine)
    return engine


@pytest.fixture
async def store(database: AsyncEngine | None, clock: ManualClock) -> Store:
    """The in-memory store, or the SQL one on SQLite, at ``DEFAULTS``."""
    if database is None:
        return InMemoryFlagStore(SHOP_FLAGS, DEFAULTS, clock=clock)
    sql = SqlFlagStore(database, TABLES, SHOP_FLAGS, DEFAULTS, clock=clock)
    await sql.refresh()
    return sql


async def _changes(store: Store) -> tuple[FlagChange, ...]:
    seen: list[StoredFlags[ShopFlags]] = []

    def look(stored: StoredFlags[ShopFlags]) -> None:
        seen.append(stored)

    assert not await store.change_if(look, since=T0 - timedelta(days=1), actor="t", reason="r")
    return seen[0].changes


async def _close(store: Store, tripped_at: datetime) -> bool:
    return await close_canary(
        store, SHOP_FLAGS.seam, actor=FALLBACK_ACTOR, reason="broken", tripped_at=tripped_at
    )


async def test_a_change_is_current_at_once_and_a_reset_returns_the_default(
    store: Store, clock: ManualClock
) -> None:
    flags = await store.change({"batch_size": 3, "restock_alerts": False}, actor="a", reason="r")
    clock.advance(1)
    await store.change({"batch_size": None}, actor="b", reason="back")

    assert (flags.batch_size, store.current().batch_size) == (3, 10)
    assert store.current().restock_alerts is False
    assert set(store.overrides()) == {"restock_alerts"}
    assert await _changes(store) == (
        FlagChange("batch_size", "a", T0),
        FlagChange("restock_alerts", "a", T0),
        FlagChange("batch_size", "b", T0 + timedelta(seconds=1)),
    )


async def test_the_close_sets_the_share_to_0_and_http_back_to_canary(
    store: Store, clock: ManualClock
) -> None:
    await store.change({"inventory_client": "http", "inventory_share": 50}, actor="a", reason="r")
    clock.advance(1)

    assert await _close(store, clock.now)

    assert (store.current().inventory_client, store.current().inventory_share) == (
        InventoryMode.CANARY,
        0,
    )
    assert store.overrides()["inventory_share"].updated_by == FALLBACK_ACTOR


@pytest.mark.parametrize("operator_change", [{"inventory_share": 20}, {"inventory_client": None}])
async def test_an_operators_change_after_the_trip_stands(
    store: Store, clock: ManualClock, operator_change: dict[str, object | None]
) -> None:
    await store.change({"inventory_client": "canary", "inventory_share": 50}, actor="a", reason="r")
    tripped_at = clock.now + timedelta(seconds=1)
    clock.advance(2)
    await store.change(operator_change, actor="bob", reason="taking over")
    before = await _changes(store)

    assert not await _close(store, tripped_at)
    assert await _changes(store) == before


async def test_a_retry_of_a_close_that_landed_writes_nothing_more(
    store: Store, clock: ManualClock
) -> None:
    await store.change({"inventory_share": 50}, actor="a", reason="r")
    clock.advance(1)
    tripped_at = clock.now

    assert await _close(store, tripped_at)
    clock.advance(1)
    assert await _close(store, tripped_at)

    closes = [c for c in await _changes(store) if c.actor == FALLBACK_ACTOR]
    assert closes == [FlagChange("inventory_share", FALLBACK_ACTOR, tripped_at)]


async def test_the_sql_store_audits_old_and_new_values_newest_first(
    engine: AsyncEngine, clock: ManualClock
) -> None:
    store = SqlFlagStore(engine, TABLES, SHOP_FLAGS, DEFAULTS, clock=clock)
    for share in (5, 50):
        clock.advance(1)
        await store.change({"inventory_share": share}, actor="ops", reason=f"to {share}")

    changes, total = await store.history(1, 10)

    assert total == 2
    assert [(c.old_value, c.new_value, c.reason) for c in changes] == [
        (5, 50, "to 50"),
        (None, 5, "to 5"),
    ]


async def test_another_sql_store_sees_a_change_and_ignores_what_it_cannot_take(
    engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    store = SqlFlagStore(engine, TABLES, SHOP_FLAGS, DEFAULTS)
    local_only = SqlFlagStore(engine, TABLES, SHOP_FLAGS, DEFAULTS, choosable={"local"})
    await store.change({"inventory_client": "canary", "batch_size": 7}, actor="ops", reason="r")
    async with engine.begin() as connection:
        row = {"name": "retired", "value": "1", "updated_by": "x", "updated_at": T0, "reason": "r"}
        await connection.execute(insert(TABLES.flags).values(row))

    with caplog.at_level(logging.WARNING, logger="cutover.flags.sql"):
        flags = await local_only.refresh()

    assert (flags.batch_size, flags.inventory_client) == (7, InventoryMode.SHADOW)
    assert set(local_only.ignored()) == {"inventory_client", "retired"}
    assert sorted(r.getMessage().split("=")[0] for r in caplog.records) == [
        "stored flag inventory_client",
        "stored flag retired",
    ]


async def test_concurrent_closes_from_two_sql_stores_write_once(
    engine: AsyncEngine, clock: ManualClock
) -> None:
    here = SqlFlagStore(engine, TABLES, SHOP_FLAGS, DEFAULTS, clock=clock)
    there = SqlFlagStore(engine, TABLES, SHOP_FLAGS, DEFAULTS, clock=clock)
    await here.change({"inventory_client": "http", "inventory_share": 50}, actor="a", reason="r")
    clock.advance(1)

    assert await asyncio.gather(*(_close(s, clock.now) for s in (here, there) * 3)) == [True] * 6

    async with engine.connect() as connection:
        rows = await connection.execute(
            select(TABLES.changes.c.name).where(TABLES.changes.c.actor == FALLBACK_ACTOR)
        )
        assert sorted(rows.scalars()) == ["inventory_client", "inventory_share"]
