"""The fallback as the remote path's link: what it judges, from when, and what it leaves alone."""

import asyncio

import pytest

from libs.seam.tests.fallbacks import fallback_over, holding, setup
from libs.seam.tests.flagbook import Clock, FlagBook, Flags
from libs.seam.tests.inventory import (
    METHODS,
    Inventory,
    InventoryDown,
    MemoryInventory,
    NotStocked,
    QueueFull,
    RemoteInventory,
    inventory_seam,
)
from seam import ACTOR, Fallback, Mode, Seam, client, compose, on


def _guarded(remote: Inventory, fallback: Fallback) -> Inventory:
    guarded: Inventory = client(METHODS, compose([fallback], on(remote)), "Guarded")
    return guarded


class Timer:
    """The guard's monotonic timer: moves only when the remote side 'takes time'."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_domain_answers_are_not_failures() -> None:
    fallback, book, _ = setup()
    remote = RemoteInventory({"mug": 0})
    guarded = _guarded(remote, fallback)

    for _ in range(30):
        with pytest.raises(NotStocked):
            await guarded.take("cup", 1)
    assert not holding(fallback)
    assert (fallback.stats().calls, fallback.stats().failures) == (30, 0)

    remote.error = InventoryDown("down")
    for _ in range(8):
        with pytest.raises(InventoryDown):
            await guarded.stock("mug")

    assert holding(fallback)  # 8 / 38 > 0.2
    await fallback.settled()
    assert book.current().share == 0


async def test_a_cancelled_call_is_not_judged() -> None:
    fallback, _, _ = setup()
    guarded = _guarded(RemoteInventory({"mug": 1}, delay=60), fallback)

    task = asyncio.create_task(guarded.take("mug", 1))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert fallback.stats().calls == 0


async def test_waiting_for_a_slot_is_not_judged() -> None:
    timer = Timer()
    book = FlagBook(Clock(), Flags())
    fallback = fallback_over(book, timer=timer)

    class SlowButHealthy(RemoteInventory):
        async def _enter(self, method: str) -> None:
            await asyncio.sleep(0)  # let the burst queue behind this call
            timer.now += 0.2

    guarded = _guarded(SlowButHealthy({"mug": 1}, slots=1), fallback)

    # 30 at once through one slot: the last waits 5.8 s here, the remote takes 0.2 s each.
    await asyncio.gather(*(guarded.stock("mug") for _ in range(30)))

    assert timer.now == pytest.approx(6.0)
    stats = fallback.stats()
    assert (stats.calls, stats.failures) == (30, 0)
    assert stats.p95_seconds == pytest.approx(0.2)
    assert not holding(fallback)
    assert book.writes == []


async def test_without_work_started_the_whole_call_is_judged() -> None:
    timer = Timer()
    fallback = fallback_over(FlagBook(Clock(), Flags()), timer=timer)

    class Slow(MemoryInventory):
        async def _enter(self, method: str) -> None:
            timer.now += 0.7

    await _guarded(Slow({"mug": 1}), fallback).stock("mug")

    assert fallback.stats().p95_seconds == pytest.approx(0.7)


async def test_a_queue_rejection_is_not_a_remote_failure() -> None:
    fallback, book, _ = setup()
    held, release = asyncio.Event(), asyncio.Event()

    class HoldsTheSlot(RemoteInventory):
        async def _enter(self, method: str) -> None:
            if not held.is_set():
                held.set()
                await release.wait()

    guarded = _guarded(HoldsTheSlot({"mug": 1}, slots=1, queue_seconds=0.001), fallback)
    holder = asyncio.create_task(guarded.stock("mug"))
    await held.wait()

    for _ in range(20):
        with pytest.raises(QueueFull):
            await guarded.stock("mug")

    assert fallback.stats().calls == 0
    assert not holding(fallback)
    release.set()
    await holder
    assert (fallback.stats().calls, fallback.stats().failures) == (1, 0)
    assert book.writes == []


async def test_the_remote_failing_behind_the_queue_still_trips_it() -> None:
    fallback, book, _ = setup()
    remote = RemoteInventory({"mug": 1}, slots=1, error=InventoryDown("down"))
    guarded = _guarded(remote, fallback)

    for _ in range(10):
        with pytest.raises(InventoryDown) as raised:
            await guarded.stock("mug")
        assert not isinstance(raised.value, QueueFull)

    assert holding(fallback)
    await fallback.settled()
    assert book.current().share == 0


async def test_the_remote_breaker_opening_trips_it_while_users_are_on_remote() -> None:
    fallback, book, _ = setup()
    seam: Seam[Inventory] = inventory_seam(
        Mode.CANARY, local=MemoryInventory(), remote=MemoryInventory(), fallback=fallback
    )

    seam.remote_down("hung")  # no flags seen yet: nobody is routed to remote
    seam.publish(Flags(Mode.CANARY, 0))
    seam.remote_down("hung")  # share 0: nothing to move
    assert not holding(fallback)

    seam.publish(Flags(Mode.CANARY, 10))
    seam.remote_down("3 calls hung past 5s")

    assert holding(fallback)
    await fallback.settled()
    share = book.overrides["share"]
    assert (share.value, share.updated_by) == (0, ACTOR)
    assert share.reason == "remote client breaker opened: 3 calls hung past 5s"
