"""The pool serves checkouts in arrival order, and loses no connection to a caller that left."""

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.util.concurrency import greenlet_spawn
from sqlalchemy.util.queue import Empty, Full

from servicekit.db import create_engine
from servicekit.fairpool import FairQueue
from servicekit.testing import postgres_server_url


async def _waiting(queue: FairQueue[str], seconds: float | None = None) -> asyncio.Task[str]:
    """A caller blocked in ``queue.get`` (as the pool calls it: inside SQLAlchemy's greenlet)."""
    task = asyncio.create_task(greenlet_spawn(queue.get, True, seconds))
    await asyncio.sleep(0)
    return task


async def test_a_returned_item_goes_to_the_first_waiter_not_to_a_newcomer() -> None:
    queue: FairQueue[str] = FairQueue(maxsize=1)
    first = await _waiting(queue)
    queue.put_nowait("connection")
    # The first waiter has not run yet; a caller arriving now must not take its item.
    assert queue.empty()
    newcomer = await _waiting(queue)
    assert await first == "connection"
    assert not newcomer.done()
    queue.put_nowait("connection")
    assert await newcomer == "connection"


async def test_a_waiter_cancelled_after_it_was_handed_an_item_passes_it_on() -> None:
    queue: FairQueue[str] = FairQueue(maxsize=1)
    leaving, staying = await _waiting(queue), await _waiting(queue)
    queue.put_nowait("connection")  # handed to ``leaving``, which has not run yet
    leaving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leaving
    assert await staying == "connection"
    assert queue.qsize() == 0


async def test_a_cancelled_waiter_returns_its_item_even_to_a_queue_filled_meanwhile() -> None:
    """Pool of one plus one overflow: both out, a waiter handed the first, then the second back.

    The waiter's task is cancelled before it runs: its item goes back past ``maxsize``
    (no connection lost, the cancellation stays a cancellation), and the next item
    returned finds the queue full, so the pool closes that one.
    """
    queue: FairQueue[str] = FairQueue(maxsize=1)
    leaving = await _waiting(queue)
    queue.put_nowait("a")  # handed to ``leaving``, which has not run yet
    leaving.cancel()
    queue.put_nowait("b")  # nobody waits: into the queue, which is now full
    with pytest.raises(asyncio.CancelledError):
        await leaving
    assert queue.qsize() == 2
    with pytest.raises(Full):
        queue.put_nowait("c")
    assert {queue.get_nowait(), queue.get_nowait()} == {"a", "b"}


async def test_a_waiter_times_out_with_empty_and_leaves_the_line() -> None:
    queue: FairQueue[str] = FairQueue(maxsize=1)
    timing_out = await _waiting(queue, seconds=0.01)
    with pytest.raises(Empty):
        await timing_out
    queue.put_nowait("connection")  # nobody waits any more: it stays in the queue
    assert queue.qsize() == 1
    assert await greenlet_spawn(queue.get, False) == "connection"


async def test_a_full_queue_refuses_an_item_and_a_non_blocking_get_never_waits() -> None:
    queue: FairQueue[str] = FairQueue(maxsize=1)
    with pytest.raises(Empty):
        queue.get(block=False)
    queue.put_nowait("a")
    with pytest.raises(Full):
        queue.put_nowait("b")


@pytest.mark.postgres
async def test_checkouts_are_served_in_the_order_they_were_asked_for() -> None:
    """With one connection, callers who waited are served before one who asks later.

    SQLAlchemy's own asyncio pool gives the returned connection to whoever asks before
    the woken waiter runs: here the holder itself, asking again at once, went first.
    """
    url = postgres_server_url().render_as_string(hide_password=False)
    engine = create_engine(url, pool_size=1)
    served: list[str] = []

    async def use(name: str) -> None:
        async with engine.connect() as connection:
            served.append(name)
            await connection.execute(text("SELECT 1"))

    try:
        holder = await engine.connect()
        await holder.execute(text("SELECT 1"))
        waiters = []
        for n in range(4):
            waiters.append(asyncio.create_task(use(f"waiter {n}")))
            await asyncio.sleep(0.01)  # each is in line before the next asks
        await holder.close()  # returned: handed to waiter 0
        await use("holder again")  # asks at once, before waiter 0 has run
        await asyncio.gather(*waiters)
    finally:
        await engine.dispose()
    assert served == ["waiter 0", "waiter 1", "waiter 2", "waiter 3", "holder again"]
