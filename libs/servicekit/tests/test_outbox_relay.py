"""The outbox relay: retries, dead letters, isolation between handlers, crash safety."""

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.servicekit.tests.outboxes import (
    T0,
    AccountEvent,
    Bus,
    Closed,
    Opened,
    account_relay,
    create_outbox,
    outbox,
    outbox_rows,
    record,
)
from servicekit.clock import ManualClock
from servicekit.db import create_engine, session_factory
from servicekit.outbox.handlers import RetryLater
from servicekit.outbox.relay import OutboxRelay
from servicekit.requestid import current_request_id, set_request_id


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'outbox.db'}"
    await create_outbox(url)
    engine = create_engine(url)
    yield session_factory(engine)
    await engine.dispose()


def _opened() -> Opened:
    return Opened(account=str(uuid4()))


async def _record(
    sessions: async_sessionmaker[AsyncSession], clock: ManualClock, *events: AccountEvent
) -> None:
    await record(sessions, clock(), *events)


def _relay(
    sessions: async_sessionmaker[AsyncSession], bus: Bus, clock: ManualClock, **kw: Any
) -> OutboxRelay[AccountEvent]:
    options: dict[str, Any] = {"max_attempts": 3, "lease_seconds": 30, "backoff_base_seconds": 1}
    options.update(kw)
    return account_relay(sessions, bus, clock=clock, **options)


async def test_handler_failing_twice_is_retried_with_backoff_then_succeeds(
    sessions: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    calls: list[AccountEvent] = []

    async def flaky(event: AccountEvent) -> None:
        calls.append(event)
        if len(calls) < 3:
            raise ConnectionError("smtp down")

    bus = Bus()
    bus.subscribe(Opened, "flaky", flaky)
    event = _opened()
    await _record(sessions, clock, event)
    relay = _relay(sessions, bus, clock)

    assert await relay.run_once() == 1
    assert await relay.run_once() == 0  # backing off: not due yet
    clock.advance(1)
    await relay.run_once()
    clock.advance(2)
    await relay.run_once()

    [row] = (await outbox_rows(sessions)).values()
    assert row["status"] == "dispatched"
    assert row["attempts"] == 3
    assert calls == [event, event, event]


async def test_handler_that_always_fails_ends_dead_lettered(
    sessions: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    async def broken(event: AccountEvent) -> None:
        raise ValueError("template missing")

    bus = Bus()
    bus.subscribe(Opened, "broken", broken)
    await _record(sessions, clock, _opened())
    relay = _relay(sessions, bus, clock)

    for _ in range(5):
        await relay.run_once()
        clock.advance(60)

    [row] = (await outbox_rows(sessions)).values()
    assert row["status"] == "dead"
    assert row["attempts"] == 3
    assert "template missing" in row["last_error"]


async def test_retry_later_is_retried_past_max_attempts_and_never_dead_lettered(
    sessions: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    broker_up = False

    async def publish(event: AccountEvent) -> None:
        if not broker_up:
            raise RetryLater("broker down")

    bus = Bus()
    bus.subscribe(Opened, "publish", publish)
    await _record(sessions, clock, _opened())
    relay = _relay(sessions, bus, clock)

    for _ in range(6):
        await relay.run_once()
        clock.advance(60)
    [row] = (await outbox_rows(sessions)).values()
    assert (row["status"], row["attempts"]) == ("pending", 6)

    broker_up = True
    await relay.run_once()
    [row] = (await outbox_rows(sessions)).values()
    assert row["status"] == "dispatched"


async def test_a_failing_handler_neither_blocks_other_events_nor_reruns_succeeded_ones(
    sessions: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    delivered: Counter[str] = Counter()

    async def good(event: AccountEvent) -> None:
        delivered[f"good:{event.event_id}"] += 1

    async def bad(event: AccountEvent) -> None:
        raise RuntimeError("nope")

    async def on_cancel(event: AccountEvent) -> None:
        delivered[f"cancel:{event.event_id}"] += 1

    bus = Bus()
    bus.subscribe(Opened, "good", good)
    bus.subscribe(Opened, "bad", bad)
    bus.subscribe(Closed, "on_cancel", on_cancel)
    opened = _opened()
    cancelled = Closed(account=opened.account)
    await _record(sessions, clock, opened, cancelled)
    relay = _relay(sessions, bus, clock)

    await relay.run_once()
    clock.advance(60)
    await relay.run_once()

    rows = await outbox_rows(sessions)
    assert rows[str(cancelled.event_id)]["status"] == "dispatched"
    assert rows[str(opened.event_id)]["status"] == "pending"
    assert json.loads(rows[str(opened.event_id)]["completed_handlers"]) == ["good"]
    assert delivered == {f"good:{opened.event_id}": 1, f"cancel:{cancelled.event_id}": 1}


async def test_relay_killed_mid_dispatch_loses_nothing_and_redispatches_after_the_lease(
    sessions: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    delivered: Counter[str] = Counter()
    started = asyncio.Event()
    hang = True

    async def handler(event: AccountEvent) -> None:
        if hang:
            started.set()
            await asyncio.sleep(3600)
        delivered[str(event.event_id)] += 1

    bus = Bus()
    bus.subscribe(Opened, "mail", handler)
    events = [_opened() for _ in range(3)]
    await _record(sessions, clock, *events)

    first = asyncio.create_task(_relay(sessions, bus, clock).run_once())
    await started.wait()
    first.cancel()  # the process dies while a handler runs
    with pytest.raises(asyncio.CancelledError):
        await first
    hang = False

    restarted = _relay(sessions, bus, clock)
    assert await restarted.run_once() == 0  # rows still leased by the dead relay
    clock.advance(31)
    assert await restarted.run_once() == 3

    assert delivered == {str(e.event_id): 1 for e in events}
    assert {row["status"] for row in (await outbox_rows(sessions)).values()} == {"dispatched"}


async def test_two_relays_never_dispatch_the_same_row_twice(
    sessions: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    delivered: Counter[str] = Counter()

    async def handler(event: AccountEvent) -> None:
        await asyncio.sleep(0)
        delivered[str(event.event_id)] += 1

    bus = Bus()
    bus.subscribe(Opened, "mail", handler)
    events = [_opened() for _ in range(20)]
    await _record(sessions, clock, *events)

    await asyncio.gather(*(_relay(sessions, bus, clock, batch_size=5).run_once() for _ in range(4)))
    await _relay(sessions, bus, clock).run_once()

    assert delivered == {str(e.event_id): 1 for e in events}


async def test_undecodable_row_is_dead_lettered_at_once(
    sessions: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    async with sessions() as session:
        await session.execute(
            outbox.insert().values(
                id=uuid4(),
                event_type="AccountTeleported",
                payload="{}",
                status="pending",
                attempts=0,
                completed_handlers="[]",
                created_at=clock(),
                next_attempt_at=clock(),
            )
        )
        await session.commit()

    await _relay(sessions, Bus(), clock).run_once()

    [row] = (await outbox_rows(sessions)).values()
    assert row["status"] == "dead"


async def test_handlers_see_the_rows_request_id_and_the_relay_keeps_its_own(
    sessions: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    seen: list[str | None] = []

    async def handler(event: AccountEvent) -> None:
        seen.append(current_request_id())

    bus = Bus()
    bus.subscribe(Opened, "mail", handler)
    set_request_id("request-1")
    await _record(sessions, clock, _opened())  # one account: dispatched in the relay's own task
    set_request_id("relay")

    assert await _relay(sessions, bus, clock).run_once() == 1

    assert seen == ["request-1"]
    assert current_request_id() == "relay"
