"""The relay on both databases: its lease and its write one statement each on PostgreSQL, alike in effect."""

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.servicekit.tests.outboxes import (
    T0,
    AccountEvent,
    Bus,
    Closed,
    Opened,
    account_relay,
    create_outbox,
    outbox_rows,
    record,
)
from servicekit.clock import ManualClock
from servicekit.db import create_engine, session_factory
from servicekit.outbox.relay import OutboxRelay
from servicekit.testing import fresh_postgres_database

pytestmark = pytest.mark.postgres

# asyncpg looks up a statement's parameter types once per connection: not per batch.
_INTROSPECTION = ("SELECT current_setting('jit')", "WITH RECURSIVE typeinfo_tree")


@dataclass
class Outbox:
    """A database with an empty example outbox, and what its engine sends to asyncpg."""

    engine: AsyncEngine
    clock: ManualClock
    sent: list[str] = field(default_factory=list)

    def relay(self, bus: Bus, **options: Any) -> OutboxRelay[AccountEvent]:
        values: dict[str, Any] = {"max_attempts": 3, "lease_seconds": 30}
        values.update(options)
        return account_relay(session_factory(self.engine), bus, clock=self.clock, **values)

    async def record(self, *events: AccountEvent) -> None:
        await record(session_factory(self.engine), self.clock(), *events)

    async def rows(self) -> dict[Any, dict[str, Any]]:
        return {
            row["id"]: row for row in (await outbox_rows(session_factory(self.engine))).values()
        }


@pytest.fixture(scope="module")
def postgres_database() -> Iterator[str]:
    """One PostgreSQL database for the module."""
    with fresh_postgres_database("outbox_relay") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
async def box(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_database: str
) -> AsyncIterator[Outbox]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'outbox.db'}"
    if request.param == "postgresql":
        url = postgres_database
    await create_outbox(url)
    engine = create_engine(url, pool_size=4)
    found = Outbox(engine, ManualClock(T0))
    if request.param == "postgresql":

        @event.listens_for(engine.sync_engine, "connect")
        def _log(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.driver_connection.add_query_logger(
                lambda record: found.sent.append(" ".join(record.query.split()))
            )

    try:
        yield found
    finally:
        await engine.dispose()


def _opened() -> Opened:
    return Opened(account=str(uuid4()))


async def test_a_batch_is_leased_in_one_statement_and_finished_in_one(box: Outbox) -> None:
    handled: list[AccountEvent] = []

    async def handler(event: AccountEvent) -> None:
        handled.append(event)

    bus = Bus()
    bus.subscribe(Opened, "count", handler)
    bus.subscribe(Closed, "count", handler)
    relay = box.relay(bus)
    await box.record(_opened())
    await relay.run_once()  # warm: connections open
    opened = _opened()
    changed = Closed(account=opened.account)
    await box.record(opened, changed)
    box.sent.clear()

    assert await relay.run_once() == 2
    await asyncio.sleep(0)  # asyncpg calls its query loggers soon after, not at once
    sent = [query for query in box.sent if not query.startswith(_INTROSPECTION)]

    assert handled[1:] == [opened, changed]  # one account's events in their order
    assert {row["status"] for row in (await box.rows()).values()} == {"dispatched"}
    if box.engine.dialect.name == "postgresql":
        # The lease (its batch chosen in a CTE) and the outcomes: one statement each, no
        # BEGIN / COMMIT around them.
        assert [query.split(" ", 1)[0] for query in sent] == ["WITH", "UPDATE"]


async def test_retries_back_off_and_remember_the_handlers_that_succeeded(box: Outbox) -> None:
    calls: list[str] = []

    async def good(event: AccountEvent) -> None:
        calls.append("good")

    async def flaky(event: AccountEvent) -> None:
        calls.append("flaky")
        if calls.count("flaky") < 3:
            raise ConnectionError("smtp down")

    bus = Bus()
    bus.subscribe(Opened, "good", good)
    bus.subscribe(Opened, "flaky", flaky)
    opened = _opened()
    await box.record(opened)
    relay = box.relay(bus, backoff_base_seconds=1)

    assert await relay.run_once() == 1
    row = (await box.rows())[opened.event_id]
    assert (row["status"], row["attempts"], row["locked_until"]) == ("pending", 1, None)
    assert json.loads(row["completed_handlers"]) == ["good"]
    assert row["next_attempt_at"] == box.clock() + timedelta(seconds=1)
    assert "smtp down" in row["last_error"]
    assert await relay.run_once() == 0  # backing off
    box.clock.advance(1)
    await relay.run_once()
    assert (await box.rows())[opened.event_id]["next_attempt_at"] == box.clock() + timedelta(
        seconds=2
    )
    box.clock.advance(2)
    await relay.run_once()

    row = (await box.rows())[opened.event_id]
    assert (row["status"], row["attempts"], row["last_error"]) == ("dispatched", 3, None)
    assert row["processed_at"] == box.clock()
    assert calls == ["good", "flaky", "flaky", "flaky"]


async def test_the_last_failed_attempt_dead_letters_the_row(box: Outbox) -> None:
    async def broken(event: AccountEvent) -> None:
        raise ValueError("template missing")

    bus = Bus()
    bus.subscribe(Opened, "broken", broken)
    opened = _opened()
    await box.record(opened)
    relay = box.relay(bus)

    for _ in range(5):
        await relay.run_once()
        box.clock.advance(60)

    row = (await box.rows())[opened.event_id]
    assert (row["status"], row["attempts"]) == ("dead", 3)
    assert "template missing" in row["last_error"]


async def test_a_relay_whose_lease_ran_out_leaves_the_next_relays_outcome_alone(
    box: Outbox,
) -> None:
    started, release = asyncio.Event(), asyncio.Event()
    calls = 0

    async def slow_then_quick(event: AccountEvent) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            started.set()
            await release.wait()
            raise ConnectionError("too late anyway")

    bus = Bus()
    bus.subscribe(Opened, "mail", slow_then_quick)
    opened = _opened()
    await box.record(opened)

    first = asyncio.create_task(box.relay(bus, lease_seconds=60).run_once())
    await started.wait()
    box.clock.advance(61)  # the first relay's lease ran out: the row is due again
    assert await box.relay(bus).run_once() == 1
    release.set()
    assert await first == 1  # it writes its outcome, fenced on the lease it held

    row = (await box.rows())[opened.event_id]
    assert (row["status"], row["attempts"], row["last_error"]) == ("dispatched", 1, None)
