"""close_canary over every flag store: in memory, and in SQL on SQLite and PostgreSQL."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from harness import FLAG_DEFAULTS, SteppingClock
from sqlalchemy import delete

from cutover.flags import (
    FALLBACK_ACTOR,
    FlagChange,
    FlagStore,
    InMemoryFlagStore,
    SqlFlagStore,
    StoredFlags,
    close_canary,
)
from orders.adapters.db.migrate import upgrade_orders_database
from orders.adapters.db.tables import feature_flag_changes, feature_flag_tables, feature_flags
from orders.adapters.product_clients.boundary import FLAGS
from orders.bootstrap.flags import ORDERS_FLAGS
from orders.config import FeatureFlags, ProductsClientMode
from servicekit.db import create_engine
from servicekit.testing import fresh_postgres_database

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
BACKENDS = ["memory", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@dataclass
class Stores:
    """This process's store and another process's, over the same flags (in memory: one store)."""

    here: FlagStore[FeatureFlags]
    there: FlagStore[FeatureFlags]
    clock: SteppingClock


@pytest.fixture(scope="module")
async def postgres_url() -> AsyncIterator[str]:
    """One migrated PostgreSQL orders database for the module; each test empties its flags."""
    with fresh_postgres_database("orders_canary_close") as url:
        await upgrade_orders_database(url)
        yield url


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> str | None:
    """A migrated orders database on the test's backend; None for the store in memory."""
    if request.param == "memory":
        return None
    url = request.getfixturevalue("orders_db_url" if request.param == "sqlite" else "postgres_url")
    assert isinstance(url, str)
    return url


@pytest.fixture
async def stores(database_url: str | None) -> AsyncIterator[Stores]:
    clock = SteppingClock(T0)
    if database_url is None:
        store = InMemoryFlagStore(ORDERS_FLAGS, FLAG_DEFAULTS, clock=clock)
        yield Stores(store, store, clock)
        return
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(delete(feature_flag_changes))
            await connection.execute(delete(feature_flags))
        here = SqlFlagStore(engine, feature_flag_tables, ORDERS_FLAGS, FLAG_DEFAULTS, clock=clock)
        there = SqlFlagStore(engine, feature_flag_tables, ORDERS_FLAGS, FLAG_DEFAULTS, clock=clock)
        await here.refresh()
        await there.refresh()
        yield Stores(here, there, clock)
    finally:
        await engine.dispose()


async def _stored(store: FlagStore[FeatureFlags]) -> StoredFlags[FeatureFlags]:
    """What the store holds, read through the port: a decision that refuses, so writes nothing."""
    seen: list[StoredFlags[FeatureFlags]] = []

    def look(stored: StoredFlags[FeatureFlags]) -> None:
        seen.append(stored)

    assert not await store.change_if(look, since=T0 - timedelta(days=1), actor="t", reason="r")
    return seen[0]


async def _changes(store: FlagStore[FeatureFlags]) -> tuple[FlagChange, ...]:
    return (await _stored(store)).changes


async def _close(store: FlagStore[FeatureFlags], tripped_at: datetime) -> bool:
    return await close_canary(
        store, FLAGS, actor=FALLBACK_ACTOR, reason="broken", tripped_at=tripped_at
    )


async def test_it_decides_on_the_stored_mode_and_sets_canary_when_it_is_http(
    stores: Stores,
) -> None:
    await stores.here.change(
        {"products_client": "canary", "canary_share": 50}, actor="a", reason="c"
    )
    await stores.there.change({"products_client": "http"}, actor="b", reason="all in")
    stores.clock.now += timedelta(seconds=1)
    tripped_at = stores.clock.now

    # A SQL store's snapshot here still says canary; the stored mode is http.
    assert await _close(stores.here, tripped_at)

    flags = stores.here.current()
    assert (flags.products_client, flags.canary_share) == (ProductsClientMode.CANARY, 0)
    fallback = [c for c in await _changes(stores.here) if c.actor == FALLBACK_ACTOR]
    assert fallback == [
        FlagChange("canary_share", FALLBACK_ACTOR, tripped_at),
        FlagChange("products_client", FALLBACK_ACTOR, tripped_at),
    ]


async def test_a_mode_other_than_http_is_left_alone(stores: Stores) -> None:
    await stores.here.change(
        {"products_client": "canary", "canary_share": 50}, actor="a", reason="c"
    )
    stores.clock.now += timedelta(seconds=1)

    assert await _close(stores.here, stores.clock.now)

    assert await _changes(stores.here) == (
        FlagChange("canary_share", "a", T0),
        FlagChange("products_client", "a", T0),
        FlagChange("canary_share", FALLBACK_ACTOR, stores.clock.now),
    )
    assert stores.here.current().products_client is ProductsClientMode.CANARY
    override = stores.here.overrides()["canary_share"]
    assert (override.value, override.updated_by, override.reason) == (0, FALLBACK_ACTOR, "broken")


@pytest.mark.parametrize(
    "operator_change", [{"canary_share": 20}, {"canary_share": None}, {"products_client": None}]
)
async def test_an_operator_change_after_the_trip_skips_it(
    operator_change: dict[str, object | None], stores: Stores
) -> None:
    await stores.here.change(
        {"products_client": "canary", "canary_share": 50}, actor="a", reason="c"
    )
    tripped_at = stores.clock.now + timedelta(seconds=1)
    stores.clock.now += timedelta(seconds=2)
    await stores.there.change(operator_change, actor="bob", reason="taking over")
    before = await _changes(stores.here)

    assert not await _close(stores.here, tripped_at)

    assert await _changes(stores.here) == before


async def test_a_change_of_another_flag_after_the_trip_does_not_skip_it(stores: Stores) -> None:
    await stores.here.change(
        {"products_client": "canary", "canary_share": 50}, actor="a", reason="c"
    )
    tripped_at = stores.clock.now + timedelta(seconds=1)
    stores.clock.now += timedelta(seconds=2)
    await stores.there.change({"confirmation_email": False}, actor="bob", reason="mail outage")

    assert await _close(stores.here, tripped_at)

    assert stores.here.current().canary_share == 0


async def test_a_retry_whose_first_attempt_landed_writes_nothing_more(stores: Stores) -> None:
    await stores.here.change({"canary_share": 50}, actor="alice", reason="canary")
    stores.clock.now += timedelta(seconds=1)
    tripped_at = stores.clock.now

    assert await _close(stores.here, tripped_at)
    stores.clock.now += timedelta(seconds=1)
    assert await _close(stores.here, tripped_at)

    fallback = [c for c in await _changes(stores.here) if c.actor == FALLBACK_ACTOR]
    assert fallback == [FlagChange("canary_share", FALLBACK_ACTOR, tripped_at)]
    # An operator reopens; a late attempt of the same trip leaves their change alone.
    await stores.there.change({"canary_share": 5}, actor="bob", reason="fixed")
    assert not await _close(stores.here, tripped_at)
    assert (await _stored(stores.there)).flags.canary_share == 5


async def test_concurrent_attempts_from_two_processes_write_once(stores: Stores) -> None:
    await stores.here.change(
        {"products_client": "canary", "canary_share": 50}, actor="a", reason="c"
    )
    stores.clock.now += timedelta(seconds=1)
    tripped_at = stores.clock.now

    attempts = [_close(store, tripped_at) for store in (stores.here, stores.there) * 4]
    assert await asyncio.gather(*attempts) == [True] * 8

    fallback = [c for c in await _changes(stores.here) if c.actor == FALLBACK_ACTOR]
    assert fallback == [FlagChange("canary_share", FALLBACK_ACTOR, tripped_at)]
