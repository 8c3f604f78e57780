"""The relay's background task: a woken pass waits its window, so commits close behind share a batch (up to its size)."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.servicekit.tests.outboxes import (
    ACCOUNTS,
    AccountEvent,
    Bus,
    Closed,
    Opened,
    create_outbox,
    record,
)
from servicekit.clock import utc_now
from servicekit.db import create_engine, session_factory
from servicekit.outbox.relay import OutboxRelay
from servicekit.outbox.task import periodic_relay


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'outbox.db'}"
    await create_outbox(url)
    engine = create_engine(url)
    yield session_factory(engine)
    await engine.dispose()


@pytest.mark.parametrize(
    ("window", "batch_size", "batches"),
    [(0.5, 50, [2]), (0.0, 50, [1, 1]), (0.5, 1, [1, 1])],
    ids=["window", "no-window", "batches-of-one"],
)
async def test_an_accounts_two_commits_share_a_batch_within_the_window(
    sessions: async_sessionmaker[AsyncSession], window: float, batch_size: int, batches: list[int]
) -> None:
    passes: asyncio.Queue[int] = asyncio.Queue()

    class Recording(OutboxRelay[AccountEvent]):
        async def run_once(self) -> int:
            processed = await super().run_once()
            passes.put_nowait(processed)
            return processed

    handled: list[AccountEvent] = []

    async def handler(event: AccountEvent) -> None:
        handled.append(event)

    bus = Bus()
    bus.subscribe(Opened, "mail", handler)
    bus.subscribe(Closed, "mail", handler)
    wake = asyncio.Event()
    relay = Recording(ACCOUNTS, sessions, bus, max_attempts=5, batch_size=batch_size)
    task = periodic_relay(relay, poll_interval_seconds=30, batch_window_seconds=window, wake=wake)
    opened = Opened(account="window")
    closed = Closed(account="window")
    batched: list[int] = []
    task.start()
    try:
        async with asyncio.timeout(5):
            assert await passes.get() == 0  # the pass every start begins with

            await record(sessions, utc_now(), opened)
            wake.set()  # as a unit of work does after a commit that wrote events
            await asyncio.sleep(0.05)
            await record(sessions, utc_now(), closed)
            wake.set()
            while sum(batched) < 2:
                if processed := await passes.get():
                    batched.append(processed)
    finally:
        await task.stop()

    assert handled == [opened, closed]
    assert batched == batches


async def test_a_pass_publishes_the_backlog_on_the_depth_gauge(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async def down(event: AccountEvent) -> None:
        raise ConnectionError("smtp down")

    bus = Bus()
    bus.subscribe(Opened, "mail", down)
    await record(sessions, utc_now(), Opened(account="a"), Opened(account="b"), Closed(account="a"))
    relay = OutboxRelay(ACCOUNTS, sessions, bus, max_attempts=5)
    task = periodic_relay(
        relay, poll_interval_seconds=30, batch_window_seconds=0, wake=asyncio.Event()
    )

    assert await task.run_once()

    # The closing had no handler: dispatched; the openings wait for their retry.
    assert REGISTRY.get_sample_value("example_outbox_depth") == 2
