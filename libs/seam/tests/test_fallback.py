"""Fallback: the remote path's window, the trip, the write through the flag store, the hold."""

import asyncio
import logging

import pytest

from libs.seam.tests.fallbacks import (
    ACTIVE,
    FALLBACK_LOGGER,
    TRIPS,
    blocked_sleep,
    fallback_over,
    holding,
    record,
    setup,
)
from libs.seam.tests.flagbook import T0, Clock, FlagBook, Flags
from libs.seam.tests.inventory import (
    Inventory,
    MemoryInventory,
    inventory_seam,
    metric,
)
from seam import ACTOR, Mode, Seam
from seam.window import p95


async def test_an_error_rate_above_the_limit_trips_it() -> None:
    fallback, book, _ = setup()
    trips = metric(TRIPS)

    record(fallback, *["ok"] * 8, "inventory_down", "error")
    assert not holding(fallback)  # 2 / 10 = 0.2: not above the limit
    record(fallback, "error")  # 3 / 11

    assert holding(fallback)
    await fallback.settled()
    assert metric(TRIPS) == trips + 1
    assert book.current().share == 0
    override = book.overrides["share"]
    assert override.updated_by == ACTOR
    assert override.reason == (
        "http error rate 0.273 (max 0.2), p95 0.010s (max 1.0s) over 11 calls in 60s (min 10)"
    )
    assert not holding(fallback)  # the store says so now


async def test_a_p95_above_the_limit_trips_it() -> None:
    fallback, book, _ = setup()

    record(fallback, *["ok"] * 19, seconds=0.05)
    record(fallback, "ok", seconds=1.5)  # 1 slow in 20: the p95 (nearest rank) is fast
    assert not holding(fallback)
    record(fallback, "ok", seconds=2.0)  # 2 slow in 21: the p95 is 1.5 s

    assert holding(fallback)
    await fallback.settled()
    assert "p95 1.500s (max 1.0s) over 21 calls" in book.overrides["share"].reason


def test_p95_is_the_nearest_rank() -> None:
    assert p95([]) == 0.0
    assert p95([float(n) for n in range(1, 101)]) == 95.0
    assert p95([float(n) for n in range(1, 21)]) == 19.0


async def test_fewer_calls_than_min_calls_never_trip_it() -> None:
    fallback, book, _ = setup()

    record(fallback, *["error"] * 9, seconds=5.0)

    assert not holding(fallback)
    assert fallback.stats().calls == 9
    assert book.writes == []


async def test_calls_older_than_the_window_no_longer_count() -> None:
    fallback, book, clock = setup()

    record(fallback, *["error"] * 9)
    clock.advance(30)
    assert fallback.stats().calls == 9
    clock.advance(31)
    record(fallback, *["ok"] * 9, "error")  # the 9 earlier errors are gone: 1 / 10

    assert not holding(fallback)
    assert fallback.stats().calls == 10
    assert book.writes == []


async def test_the_trip_writes_share_0_logs_it_and_sets_the_gauges(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fallback, book, _ = setup(Mode.HTTP, share=0)

    with caplog.at_level(logging.WARNING, FALLBACK_LOGGER):
        record(fallback, *["error"] * 10)
        await fallback.settled()

    assert book.writes == [
        (
            {"share": 0},
            ACTOR,
            "http error rate 1.000 (max 0.2), p95 0.010s (max 1.0s) over 10 calls in 60s (min 10)",
        )
    ]
    assert [r.getMessage() for r in caplog.records] == [
        "canary fallback: " + book.writes[0][2] + "; canary share set to 0"
    ]
    assert fallback.publish_active()
    assert metric(ACTIVE) == 1


async def test_a_failed_write_is_retried_and_everyone_stays_local_meanwhile() -> None:
    fallback, book, _ = setup(failures=2)
    seam: Seam[Inventory] = inventory_seam(
        Mode.CANARY, local=MemoryInventory(), remote=MemoryInventory(), fallback=fallback
    )
    flags = book.current()
    users = [f"user-{n}" for n in range(40)]
    assert any(seam.choose(flags, u) is seam.routed_remote for u in users)
    assert seam.routed_share(flags) == 50

    record(fallback, *["error"] * 10)
    state = fallback.state()

    assert state is not None
    assert (state.at, state.pending) == (T0, True)
    assert all(seam.choose(flags, u) is seam.local for u in users)  # flags still say 50 %
    assert seam.routed_share(flags) == 0
    await fallback.settled()
    assert [w[0] for w in book.writes] == [{"share": 0}] * 3
    assert not holding(fallback)
    assert all(seam.choose(book.current(), u) is seam.local for u in users)


async def test_it_never_raises_the_share_and_an_operator_ends_it() -> None:
    fallback, book, clock = setup()
    record(fallback, *["error"] * 10)
    await fallback.settled()
    # Calls still in flight from before the trip are not judged again.
    generation = fallback.generation - 1
    fallback.record(0.01, "error", generation)
    assert fallback.stats().calls == 0

    clock.advance(120)
    await book.change({"share": 5}, actor="alice", reason="the remote is fixed")

    assert [w[0] for w in book.writes if w[1] == ACTOR] == [{"share": 0}]
    assert book.current().share == 5
    assert fallback.state() is None
    assert not fallback.publish_active()
    assert metric(ACTIVE) == 0


def _failing(failures: int) -> FlagBook:
    return FlagBook(Clock(), Flags(Mode.CANARY), failures)


async def test_aclose_makes_one_final_attempt_at_a_write_still_retrying() -> None:
    book = _failing(1)
    sleep, _ = blocked_sleep()
    fallback = fallback_over(book, sleep=sleep)
    record(fallback, *["error"] * 10)
    await asyncio.sleep(0)
    assert len(book.writes) == 1  # failed; the retry waits

    await fallback.aclose()

    assert len(book.writes) == 2
    assert book.current().share == 0
    assert book.overrides["share"].updated_by == ACTOR


async def test_a_final_attempt_that_fails_is_logged_as_an_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    book = _failing(10**6)
    sleep, _ = blocked_sleep()
    fallback = fallback_over(book, sleep=sleep)
    record(fallback, *["error"] * 10)
    await asyncio.sleep(0)

    with caplog.at_level(logging.ERROR, FALLBACK_LOGGER):
        await fallback.aclose()

    assert len(book.writes) == 2
    errors = [r for r in caplog.records if "before shutdown" in r.getMessage()]
    assert len(errors) == 1
    assert errors[0].levelno == logging.ERROR
    assert "could not write canary_share=0 before shutdown (database is down)" in (
        errors[0].getMessage()
    )
    assert holding(fallback)  # nothing landed: this process keeps routing local


async def test_a_final_attempt_is_bounded(caplog: pytest.LogCaptureFixture) -> None:
    book = _failing(1)
    sleep, _ = blocked_sleep()
    fallback = fallback_over(book, sleep=sleep, final_attempt_seconds=0.01)
    record(fallback, *["error"] * 10)
    await asyncio.sleep(0)
    hung = asyncio.Event()

    async def hangs(*_: object, **__: object) -> None:
        await hung.wait()

    book.change = hangs  # type: ignore[method-assign]

    with caplog.at_level(logging.ERROR, FALLBACK_LOGGER):
        await fallback.aclose()  # returns although the store never answers

    assert not hung.is_set()
    assert holding(fallback)
    [error] = [r for r in caplog.records if "before shutdown" in r.getMessage()]
    assert "(no answer within 0.01s)" in error.getMessage()


async def test_an_operator_change_after_the_trip_wins_over_a_late_write(
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, book, clock = setup(failures=1)
    sleep, wake = blocked_sleep()
    fallback = fallback_over(book, sleep=sleep)
    record(fallback, *["error"] * 10)
    await asyncio.sleep(0)
    assert len(book.writes) == 1  # failed; the retry waits
    assert holding(fallback)

    clock.advance(5)
    await book.change({"share": 10}, actor="alice", reason="the remote is fixed")
    assert not holding(fallback)  # the operator's flags stand at once

    with caplog.at_level(logging.WARNING, FALLBACK_LOGGER):
        wake.set()
        await fallback.settled()

    assert len(book.writes) == 2  # alice's; the fallback's retry wrote nothing
    assert book.current().share == 10
    assert book.overrides["share"].updated_by == "alice"
    assert fallback.state() is None
    assert any("write skipped" in r.getMessage() for r in caplog.records)


async def test_an_operator_reset_of_the_mode_after_the_trip_also_wins() -> None:
    _, book, clock = setup()
    sleep, wake = blocked_sleep()
    fallback = fallback_over(book, sleep=sleep)
    await book.change({"mode": Mode.HTTP}, actor="alice", reason="go remote")
    book.failures = 1
    record(fallback, *["error"] * 10)
    await asyncio.sleep(0)

    clock.advance(5)
    await book.change({"mode": None}, actor="bob", reason="back to default")
    assert not holding(fallback)
    wake.set()
    await fallback.settled()

    assert book.current() == Flags(Mode.CANARY, 50)
    assert [w[1] for w in book.writes] == ["alice", ACTOR, "bob"]


async def test_nothing_trips_once_it_is_closed() -> None:
    fallback, book, _ = setup()
    trips = metric(TRIPS)
    await fallback.aclose()

    fallback.remote_down("breaker opened during shutdown")
    record(fallback, *["error"] * 10)
    await asyncio.sleep(0)

    assert not holding(fallback)
    assert book.writes == []
    assert metric(TRIPS) == trips


async def test_the_seam_closes_the_fallback_even_when_stopping_the_comparisons_fails() -> None:
    book = _failing(1)
    sleep, _ = blocked_sleep()
    fallback = fallback_over(book, sleep=sleep)
    seam: Seam[Inventory] = inventory_seam(
        Mode.CANARY, local=MemoryInventory(), remote=MemoryInventory(), fallback=fallback
    )
    record(fallback, *["error"] * 10)
    await asyncio.sleep(0)
    assert len(book.writes) == 1  # failed; the retry waits
    assert seam.shadow is not None

    async def broken() -> None:
        raise RuntimeError("cancelled comparisons did not stop")

    seam.shadow.aclose = broken  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        await seam.aclose()

    assert len(book.writes) == 2  # the final attempt still ran
    assert book.current().share == 0
