"""SqlFlagStore on SQLite: snapshot, validated and audited changes, bad rows ignored."""

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from harness import FLAG_DEFAULTS, SteppingClock
from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from cutover.flags import FALLBACK_ACTOR, InvalidFlag, SqlFlagStore
from orders.adapters.db.tables import feature_flag_changes, feature_flag_tables, feature_flags
from orders.adapters.product_clients.boundary import ProductsClientUnavailable
from orders.adapters.product_clients.factory import canary_fallback
from orders.bootstrap.flags import ORDERS_FLAGS
from orders.config import FeatureFlags, ProductsClientMode
from seam import Fallback, Thresholds
from servicekit.requestid import set_request_id

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


async def _store_rows(engine: AsyncEngine, rows: list[tuple[str, str]]) -> None:
    """Flag rows written by hand (name, stored JSON text), as if by another version or a person."""
    async with engine.begin() as connection:
        await connection.execute(
            insert(feature_flags),
            [
                {"name": n, "value": v, "updated_by": "x", "updated_at": T0, "reason": "r"}
                for n, v in rows
            ],
        )


@pytest.fixture
def clock() -> SteppingClock:
    return SteppingClock(T0)


@pytest.fixture
async def store(engine: AsyncEngine, clock: SteppingClock) -> SqlFlagStore[FeatureFlags]:
    store = SqlFlagStore(engine, feature_flag_tables, ORDERS_FLAGS, FLAG_DEFAULTS, clock=clock)
    await store.refresh()
    return store


async def _changes(engine: AsyncEngine) -> list[dict[str, object]]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(feature_flag_changes).order_by(feature_flag_changes.c.id)
        )
        return [dict(row._mapping) for row in rows]


async def test_nothing_stored_is_the_defaults_and_the_snapshot_is_kept(
    store: SqlFlagStore[FeatureFlags],
) -> None:
    first = store.current()
    await store.refresh()

    assert first == FLAG_DEFAULTS
    assert store.current() is first  # nothing changed: the same object, nothing rebuilt
    assert dict(store.overrides()) == {}


async def test_a_change_is_current_at_once_stored_and_audited(
    store: SqlFlagStore[FeatureFlags], engine: AsyncEngine
) -> None:
    set_request_id("req-1")
    try:
        flags = await store.change(
            {"canary_share": 5, "products_client": "canary"}, actor="alice", reason="start canary"
        )
    finally:
        set_request_id(None)

    assert flags is store.current()
    assert (flags.canary_share, flags.products_client) == (5, ProductsClientMode.CANARY)
    override = store.overrides()["canary_share"]
    assert (override.value, override.updated_by, override.updated_at, override.reason) == (
        5,
        "alice",
        T0,
        "start canary",
    )
    assert await _changes(engine) == [
        {
            "id": 1,
            "name": "canary_share",
            "old_value": None,
            "new_value": "5",
            "actor": "alice",
            "reason": "start canary",
            "changed_at": T0,
            "request_id": "req-1",
        },
        {
            "id": 2,
            "name": "products_client",
            "old_value": None,
            "new_value": '"canary"',
            "actor": "alice",
            "reason": "start canary",
            "changed_at": T0,
            "request_id": "req-1",
        },
    ]


async def test_values_are_stored_in_their_validated_form(
    store: SqlFlagStore[FeatureFlags], engine: AsyncEngine
) -> None:
    await store.change(
        {"shadow_sample_rate": 1, "products_client": ProductsClientMode.CANARY},
        actor="ops",
        reason="r",
    )

    changes, _ = await store.history(1, 10)
    assert store.current().shadow_sample_rate == 1.0
    assert {c.name: c.new_value for c in changes} == {
        "shadow_sample_rate": 1.0,
        "products_client": "canary",
    }
    async with engine.connect() as connection:
        rows = (await connection.execute(select(feature_flags.c.name, feature_flags.c.value))).all()
    assert sorted(map(tuple, rows)) == [
        ("products_client", '"canary"'),
        ("shadow_sample_rate", "1.0"),
    ]


async def test_reset_deletes_the_override_and_audits_the_old_value(
    store: SqlFlagStore[FeatureFlags], engine: AsyncEngine, clock: SteppingClock
) -> None:
    await store.change({"max_items_per_order": 3}, actor="alice", reason="limit")
    clock.now = T0 + timedelta(minutes=1)
    flags = await store.change({"max_items_per_order": None}, actor="bob", reason="back")

    assert flags.max_items_per_order == 50
    assert "max_items_per_order" not in store.overrides()
    async with engine.connect() as connection:
        assert (await connection.execute(select(feature_flags))).all() == []
    last = (await _changes(engine))[-1]
    assert (last["old_value"], last["new_value"], last["actor"]) == ("3", None, "bob")


async def test_history_is_newest_first_and_paginated(
    store: SqlFlagStore[FeatureFlags], clock: SteppingClock
) -> None:
    for share in range(1, 6):
        clock.now = T0 + timedelta(seconds=share)
        await store.change({"canary_share": share}, actor="ops", reason=f"step {share}")

    first, total = await store.history(1, 2)
    third, _ = await store.history(3, 2)

    assert total == 5
    assert [c.new_value for c in first] == [5, 4]
    assert [(c.old_value, c.new_value) for c in third] == [(None, 1)]
    assert first[0].changed_at == T0 + timedelta(seconds=5)


@pytest.mark.parametrize(
    ("updates", "flag"),
    [
        ({"no_such_flag": 1}, "no_such_flag"),
        ({"max_items_per_order": 0}, "max_items_per_order"),
        ({"max_items_per_order": 51}, "max_items_per_order"),
        ({"canary_share": 101}, "canary_share"),
        ({"shadow_sample_rate": "often"}, "shadow_sample_rate"),
        ({"products_client": "grpc"}, "products_client"),
        ({"canary_share": 10, "confirmation_email": "maybe"}, "confirmation_email"),
        ({"max_items_per_order": "7"}, "max_items_per_order"),
        ({"max_items_per_order": True}, "max_items_per_order"),
        ({"canary_share": 5.5}, "canary_share"),
        ({"confirmation_email": 0}, "confirmation_email"),
    ],
)
async def test_invalid_changes_are_refused_and_write_nothing(
    store: SqlFlagStore[FeatureFlags], engine: AsyncEngine, updates: dict[str, object], flag: str
) -> None:
    with pytest.raises(InvalidFlag) as refused:
        await store.change(updates, actor="ops", reason="r")

    assert refused.value.flag == flag
    assert refused.value.extensions()["flag"] == flag
    assert await _changes(engine) == []
    assert store.current() == FLAG_DEFAULTS


async def test_a_products_client_without_its_clients_is_refused(engine: AsyncEngine) -> None:
    store = SqlFlagStore(
        engine,
        feature_flag_tables,
        ORDERS_FLAGS,
        FLAG_DEFAULTS,
        choosable=frozenset({ProductsClientMode.LOCAL}),
    )

    with pytest.raises(ProductsClientUnavailable) as refused:
        await store.change({"products_client": "http"}, actor="ops", reason="r")

    assert refused.value.extensions() == {"flag": "products_client", "choosable": ["local"]}
    assert await _changes(engine) == []


async def test_a_change_needs_a_reason(store: SqlFlagStore[FeatureFlags]) -> None:
    with pytest.raises(ValueError, match="reason"):
        await store.change({"canary_share": 1}, actor="ops", reason="  ")


async def test_another_store_sees_a_change_on_its_next_refresh(
    store: SqlFlagStore[FeatureFlags], engine: AsyncEngine
) -> None:
    other = SqlFlagStore(engine, feature_flag_tables, ORDERS_FLAGS, FLAG_DEFAULTS)
    await other.refresh()

    await store.change({"confirmation_email": False}, actor="ops", reason="mail outage")
    assert other.current().confirmation_email is True
    await other.refresh()

    assert other.current().confirmation_email is False
    assert other.overrides()["confirmation_email"].updated_by == "ops"


async def test_a_stored_value_that_no_longer_validates_is_ignored_with_one_warning(
    store: SqlFlagStore[FeatureFlags], engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    await _store_rows(
        engine,
        [
            ("max_items_per_order", "500"),
            ("retired_flag", "true"),
            ("canary_share", "not json"),
            ("shadow_sample_rate", "0.25"),
        ],
    )

    with caplog.at_level(logging.WARNING, logger="cutover.flags.sql"):
        await store.refresh()
        await store.refresh()

    flags = store.current()
    assert (flags.max_items_per_order, flags.canary_share, flags.shadow_sample_rate) == (
        50,
        0,
        0.25,
    )
    assert set(store.overrides()) == {"shadow_sample_rate"}
    assert set(store.ignored()) == {"max_items_per_order", "retired_flag", "canary_share"}
    warned = sorted(r.getMessage().split("=")[0] for r in caplog.records)
    assert warned == [
        "stored flag canary_share",
        "stored flag max_items_per_order",
        "stored flag retired_flag",
    ]


async def test_a_stored_value_of_another_type_is_ignored_not_coerced(
    store: SqlFlagStore[FeatureFlags], engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    # Rows written by hand: read by the same strict rule as a change.
    await _store_rows(
        engine,
        [
            ("max_items_per_order", "true"),
            ("canary_share", '"5"'),
            ("confirmation_email", "0"),
            ("shadow_sample_rate", "0"),
        ],
    )

    with caplog.at_level(logging.WARNING, logger="cutover.flags.sql"):
        await store.refresh()

    flags = store.current()
    assert (
        flags.max_items_per_order,
        flags.canary_share,
        flags.confirmation_email,
        flags.shadow_sample_rate,
    ) == (50, 0, True, 0.0)
    assert dict(store.ignored()) == {
        "max_items_per_order": "Input should be a valid integer",
        "canary_share": "Input should be a valid integer",
        "confirmation_email": "Input should be a valid boolean",
    }
    assert set(store.overrides()) == {"shadow_sample_rate"}
    assert len(caplog.records) == 3


async def test_a_corrected_row_applies_again(
    store: SqlFlagStore[FeatureFlags], engine: AsyncEngine
) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO feature_flags (name, value, updated_by, updated_at, reason)"
                " VALUES ('max_items_per_order', '500', 'x', '2026-12-02 09:00:00', 'r')"
            )
        )
    await store.refresh()
    assert store.current().max_items_per_order == 50

    await store.change({"max_items_per_order": 5}, actor="ops", reason="fix")

    assert store.current().max_items_per_order == 5
    assert dict(store.ignored()) == {}
    last = (await _changes(engine))[-1]
    assert last["old_value"] == "500"


async def test_a_stored_products_client_this_process_did_not_build_is_ignored(
    store: SqlFlagStore[FeatureFlags], engine: AsyncEngine
) -> None:
    # Set while the deployment ran shadow; this process started with local only.
    await store.change({"products_client": "canary"}, actor="ops", reason="canary")
    local = FLAG_DEFAULTS.model_copy(update={"products_client": ProductsClientMode.LOCAL})
    local_only = SqlFlagStore(
        engine,
        feature_flag_tables,
        ORDERS_FLAGS,
        local,
        choosable=frozenset({ProductsClientMode.LOCAL}),
    )

    await local_only.refresh()

    assert local_only.current().products_client is ProductsClientMode.LOCAL
    assert dict(local_only.ignored()) == {
        "products_client": "canary is not built in this process (choosable: local)"
    }


LIMITS = Thresholds(window_seconds=60, min_calls=10, max_error_rate=0.2, max_p95_seconds=1)


async def _no_sleep(_: float) -> None:
    await asyncio.sleep(0)


def _holding(fallback: Fallback) -> bool:
    # A call, not the property: mypy would narrow the property across the steps.
    return fallback.holding


def _trip(fallback: Fallback) -> None:
    for _ in range(LIMITS.min_calls):
        fallback.record(0.01, "error")


async def test_the_fallback_decides_on_the_stored_mode_not_a_stale_snapshot(
    store: SqlFlagStore[FeatureFlags], engine: AsyncEngine, clock: SteppingClock
) -> None:
    await store.change(
        {"products_client": "canary", "canary_share": 50}, actor="alice", reason="canary"
    )
    other = SqlFlagStore(
        engine, feature_flag_tables, ORDERS_FLAGS, FLAG_DEFAULTS, clock=clock
    )  # another process
    await other.change({"products_client": "http"}, actor="bob", reason="all in")
    assert store.current().products_client is ProductsClientMode.CANARY  # not refreshed yet
    clock.now += timedelta(seconds=1)
    fallback = canary_fallback(store, LIMITS, clock=clock, sleep=_no_sleep)

    _trip(fallback)
    await fallback.settled()

    assert (store.current().products_client, store.current().canary_share) == (
        ProductsClientMode.CANARY,
        0,
    )
    fallback_rows = [str(c["name"]) for c in await _changes(engine) if c["actor"] == FALLBACK_ACTOR]
    assert sorted(fallback_rows) == ["canary_share", "products_client"]
    assert not fallback.holding


class RefreshFailsOnce(SqlFlagStore[FeatureFlags]):
    """Commits, then cannot re-read: the database went away between the two."""

    failures = 0

    async def refresh(self) -> FeatureFlags:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("connection lost")
        return await super().refresh()


async def test_a_committed_write_whose_refresh_fails_is_not_written_twice(
    engine: AsyncEngine, clock: SteppingClock
) -> None:
    store = RefreshFailsOnce(engine, feature_flag_tables, ORDERS_FLAGS, FLAG_DEFAULTS, clock=clock)
    await store.change(
        {"products_client": "canary", "canary_share": 50}, actor="alice", reason="canary"
    )
    clock.now += timedelta(seconds=1)
    fallback = canary_fallback(store, LIMITS, clock=clock, sleep=_no_sleep)
    store.failures = 1

    _trip(fallback)
    await fallback.settled()

    rows = [c for c in await _changes(engine) if c["actor"] == FALLBACK_ACTOR]
    assert [c["name"] for c in rows] == ["canary_share"]
    assert store.current().canary_share == 50  # the snapshot has not caught up
    assert _holding(fallback)  # so this process keeps everyone local until it does
    await store.refresh()
    assert store.current().canary_share == 0
    assert not _holding(fallback)


async def test_an_operator_change_seen_through_refresh_ends_the_hold(
    store: SqlFlagStore[FeatureFlags], engine: AsyncEngine, clock: SteppingClock
) -> None:
    await store.change({"products_client": "canary", "canary_share": 50}, actor="alice", reason="c")
    woken = asyncio.Event()

    async def never(_: float) -> None:
        await woken.wait()

    class Down(SqlFlagStore[FeatureFlags]):
        async def change_if(self, *_: Any, **__: Any) -> bool:
            raise ConnectionError("database is down")

    down = Down(engine, feature_flag_tables, ORDERS_FLAGS, FLAG_DEFAULTS, clock=clock)
    await down.refresh()
    fallback = canary_fallback(down, LIMITS, clock=clock, sleep=never)
    _trip(fallback)
    await asyncio.sleep(0)
    assert _holding(fallback)

    clock.now += timedelta(seconds=5)
    await store.change({"canary_share": 10}, actor="bob", reason="fixed")
    assert _holding(fallback)  # not seen yet
    await down.refresh()

    assert not _holding(fallback)
    assert fallback.state() is None
    await fallback.aclose()


async def test_a_refresh_on_sqlite_never_waits_for_a_writer(
    store: SqlFlagStore[FeatureFlags], engine: AsyncEngine
) -> None:
    # An order write holds SQLite's one write lock (BEGIN IMMEDIATE) and has not
    # committed: the refresh reads the last committed rows without queueing behind it.
    async with engine.begin() as writer:
        await writer.execute(
            insert(feature_flags).values(
                name="canary_share", value="5", updated_by="x", updated_at=T0, reason="r"
            )
        )
        # Without a deferred read it waits for the lock (busy_timeout: 30 s).
        flags = await asyncio.wait_for(store.refresh(), timeout=10)

    assert flags.canary_share == 0  # the uncommitted row is not seen
    assert (await store.refresh()).canary_share == 5
