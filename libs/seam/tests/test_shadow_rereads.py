"""Shadow re-reads: a difference is read again before it is judged, off the caller's path."""

import asyncio
import logging
import time
from collections.abc import Sequence

import pytest

from libs.seam.tests.inventory import (
    COMPARER,
    METRICS,
    InventoryDown,
    MemoryInventory,
    NotStocked,
)
from libs.seam.tests.shadowing import LEVELS, SHADOW_LOGGER, count, counts, records, shadowed
from seam import Shadow, on


class Changing(MemoryInventory):
    """Answers ``stock`` with the next level on each call; ``None`` is ``NotStocked``.

    The last level repeats once the list is used up.
    """

    def __init__(self, levels: Sequence[int | None]) -> None:
        super().__init__()
        self.script = list(levels)

    def _level(self, item: str) -> int:
        level = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if level is None:
            raise NotStocked(item)
        return level


def _write_between_reads() -> tuple[Changing, Changing]:
    """A primary and a candidate: a write took one between the sides' reads.

    The caller's primary read saw 5; a take landed before the candidate read saw 4;
    read again, both sides say 4.
    """
    return Changing([5, 4]), Changing([4])


def _slow_after_first(fake: MemoryInventory, seconds: float) -> None:
    """The fake answers its first call at once and every later one after ``seconds``."""

    async def enter(method: str) -> None:
        fake.calls.append(method)
        if len(fake.calls) > 1:
            await asyncio.sleep(seconds)

    fake._enter = enter  # type: ignore[method-assign]


async def test_a_difference_a_re_read_does_not_reproduce_is_settled(
    caplog: pytest.LogCaptureFixture,
) -> None:
    primary, candidate = _write_between_reads()
    inventory, shadow = shadowed(primary, candidate, 1.0)
    before = counts("stock", "match", "settled", "mismatch")

    with caplog.at_level(logging.INFO, logger=SHADOW_LOGGER):
        stock = await inventory.stock("mug")
        await shadow.drain()

    assert stock.level == 5  # the caller got the primary's first answer
    assert primary.calls == candidate.calls == ["stock", "stock"]
    after = counts("stock", "match", "settled", "mismatch")
    assert after == {**before, "settled": before["settled"] + 1}
    [record] = records(caplog, "settled")
    assert record.levelno == logging.INFO
    assert record.getMessage() == "shadow settled on stock"
    assert record.shadow_differences == ["level"]  # type: ignore[attr-defined]
    assert record.shadow_attempts == 2  # type: ignore[attr-defined]
    assert records(caplog, "mismatch") == []


async def test_a_difference_that_settles_on_the_last_re_read_is_settled() -> None:
    # Writes keep landing between the two sides' reads until the third attempt.
    primary, candidate = Changing([5, 4, 3]), Changing([4, 3, 3])
    inventory, shadow = shadowed(primary, candidate, 1.0)
    before = count("stock", "settled")

    await inventory.stock("mug")
    await shadow.drain()

    assert len(candidate.calls) == 3
    assert count("stock", "settled") == before + 1


async def test_a_difference_every_attempt_reproduces_is_a_mismatch_after_the_bounded_attempts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    primary, candidate = Changing([5, 5, 7]), Changing([4])
    inventory, shadow = shadowed(primary, candidate, 1.0)
    before = counts("stock", "settled", "mismatch")

    with caplog.at_level(logging.INFO, logger=SHADOW_LOGGER):
        await inventory.stock("mug")
        await shadow.drain()

    # The caller's read and the first mirrored one, then exactly two re-reads of each side.
    assert primary.calls == candidate.calls == ["stock"] * 3
    assert count("stock", "mismatch") == before["mismatch"] + 1
    assert count("stock", "settled") == before["settled"]
    [record] = records(caplog, "mismatch")
    assert record.levelno == logging.WARNING
    assert record.shadow_differences == ["level"]  # type: ignore[attr-defined]
    assert record.shadow_last_differences == ["level"]  # type: ignore[attr-defined]
    assert record.shadow_attempts == 3  # type: ignore[attr-defined]
    assert records(caplog, "settled") == []


async def test_rereads_zero_judges_the_first_difference() -> None:
    primary, candidate = _write_between_reads()
    inventory, shadow = shadowed(primary, candidate, 1.0, rereads=0)
    before = count("stock", "mismatch")

    await inventory.stock("mug")
    await shadow.drain()

    assert candidate.calls == ["stock"]
    assert count("stock", "mismatch") == before + 1


async def test_error_versus_value_is_re_read_like_any_difference(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The candidate says "not stocked" once (an item added between the reads),
    # then finds it: settled. A candidate that never finds it: a mismatch.
    settles, settles_shadow = shadowed(Changing([5]), Changing([None, 5]), 1.0)
    mismatches, mismatches_shadow = shadowed(Changing([5]), Changing([None]), 1.0)
    before = counts("stock", "settled", "mismatch")

    with caplog.at_level(logging.INFO, logger=SHADOW_LOGGER):
        await settles.stock("mug")
        await mismatches.stock("cup")
        await settles_shadow.drain()
        await mismatches_shadow.drain()

    assert count("stock", "settled") == before["settled"] + 1
    assert count("stock", "mismatch") == before["mismatch"] + 1
    [settled] = records(caplog, "settled")
    assert settled.shadow_differences == ["<outcome>: value vs error"]  # type: ignore[attr-defined]
    [mismatch] = records(caplog, "mismatch")
    assert mismatch.shadow_last_differences == [  # type: ignore[attr-defined]
        "<outcome>: value vs error"
    ]


async def test_a_re_read_the_candidate_fails_does_not_settle(
    caplog: pytest.LogCaptureFixture,
) -> None:
    primary, candidate = _write_between_reads()
    inventory, shadow = shadowed(primary, candidate, 1.0)
    before = count("stock", "mismatch")

    async def unavailable_after_first(method: str) -> None:
        candidate.calls.append(method)
        if len(candidate.calls) > 1:
            raise InventoryDown("the remote went away")

    candidate._enter = unavailable_after_first  # type: ignore[method-assign]
    with caplog.at_level(logging.WARNING, logger=SHADOW_LOGGER):
        await inventory.stock("mug")
        await shadow.drain()

    assert len(candidate.calls) == 3
    assert count("stock", "mismatch") == before + 1
    [record] = records(caplog, "mismatch")
    assert record.shadow_differences == ["level"]  # type: ignore[attr-defined]
    assert record.shadow_last_differences == [  # type: ignore[attr-defined]
        "<re-read>: candidate_error"
    ]


async def test_a_re_read_the_primary_fails_does_not_settle(
    caplog: pytest.LogCaptureFixture,
) -> None:
    primary, candidate = _write_between_reads()
    inventory, shadow = shadowed(primary, candidate, 1.0, rereads=1)

    async def down_after_first(method: str) -> None:
        primary.calls.append(method)
        if len(primary.calls) > 1:
            raise InventoryDown("the local store went away")

    primary._enter = down_after_first  # type: ignore[method-assign]
    with caplog.at_level(logging.WARNING, logger=SHADOW_LOGGER):
        await inventory.stock("mug")
        await shadow.drain()

    [record] = records(caplog, "mismatch")
    assert record.shadow_last_differences == [  # type: ignore[attr-defined]
        "<re-read>: primary InventoryDown"
    ]


async def test_a_re_read_is_bounded_by_the_timeout() -> None:
    primary, candidate = _write_between_reads()
    _slow_after_first(candidate, 5.0)  # every re-read of the candidate hangs past the timeout
    inventory, shadow = shadowed(primary, candidate, 0.05)
    before = count("stock", "mismatch")
    await inventory.stock("mug")

    start = time.perf_counter()
    await shadow.drain()

    assert time.perf_counter() - start < 1.0  # two attempts of 0.05 s, not 5 s each
    assert len(candidate.calls) == 3
    assert count("stock", "mismatch") == before + 1


async def test_candidate_failures_are_never_re_read() -> None:
    candidate = MemoryInventory(error=InventoryDown("down"))
    inventory, shadow = shadowed(MemoryInventory(LEVELS), candidate, 1.0)

    await inventory.stock("mug")
    await shadow.drain()

    assert candidate.calls == ["stock"]


async def test_re_reads_never_delay_the_caller_and_hold_their_in_flight_slot() -> None:
    primary, candidate = _write_between_reads()
    _slow_after_first(candidate, 0.3)  # the re-read is slow
    inventory, shadow = shadowed(primary, candidate, 10.0, max_in_flight=1)
    skipped, settled = count("stock", "skipped"), count("stock", "settled")

    await inventory.stock("mug")
    await asyncio.sleep(0.02)  # the first comparison found its difference; the re-read runs
    assert len(candidate.calls) == 2

    start = time.perf_counter()
    stock = await inventory.stock("mug")
    elapsed = time.perf_counter() - start

    assert elapsed < 0.15  # answered by the primary while the re-read runs
    assert stock.level == 4
    # The re-reading comparison still holds the only slot: this read was not mirrored.
    assert shadow.pending == 1
    assert count("stock", "skipped") == skipped + 1
    await shadow.drain()
    assert count("stock", "settled") == settled + 1
    assert len(candidate.calls) == 2


def test_a_timeout_must_be_positive_and_rereads_not_negative() -> None:
    with pytest.raises(ValueError, match="timeout"):
        Shadow(on(MemoryInventory()), COMPARER, METRICS, 0.0)
    with pytest.raises(ValueError, match="rereads"):
        Shadow(on(MemoryInventory()), COMPARER, METRICS, 1.0, rereads=-1)
