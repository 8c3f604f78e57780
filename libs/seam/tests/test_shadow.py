"""Shadow: the primary answers, reads are mirrored and compared, writes never duplicated."""

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable

import pytest

from libs.seam.tests.inventory import (
    COMPARER,
    METHODS,
    METRICS,
    Inventory,
    InventoryDown,
    MemoryInventory,
    NotStocked,
)
from libs.seam.tests.shadowing import LEVELS, SHADOW_LOGGER, count, records, shadowed, view
from seam import Method, MethodTable, Shadow, client, compose, on


async def test_identical_answers_are_recorded_as_matches() -> None:
    inventory, shadow = shadowed(MemoryInventory(LEVELS), MemoryInventory(LEVELS), 1.0)
    matches, mismatches = count("stock", "match"), count("stock", "mismatch")

    for _ in range(3):
        await inventory.stock("mug")
    await shadow.drain()

    assert count("stock", "match") == matches + 3
    assert count("stock", "mismatch") == mismatches


async def test_altered_candidate_is_a_mismatch_but_caller_gets_primary(
    caplog: pytest.LogCaptureFixture,
) -> None:
    primary, candidate = MemoryInventory({"mug": 5}), MemoryInventory({"mug": 3})
    inventory, shadow = shadowed(primary, candidate, 1.0)
    before = count("stock", "mismatch")

    with caplog.at_level(logging.WARNING, logger=SHADOW_LOGGER):
        stock = await inventory.stock("mug")
        await shadow.drain()

    assert stock.level == 5
    assert count("stock", "mismatch") == before + 1
    [record] = records(caplog, "mismatch")
    assert record.getMessage() == "shadow mismatch on stock"
    assert record.shadow_differences == ["level"]  # type: ignore[attr-defined]
    assert record.shadow_method == "stock"  # type: ignore[attr-defined]


async def test_same_domain_error_on_both_sides_is_a_match() -> None:
    inventory, shadow = shadowed(MemoryInventory(), MemoryInventory(), 1.0)
    before = count("stock", "match")

    with pytest.raises(NotStocked):
        await inventory.stock("mug")
    await shadow.drain()

    assert count("stock", "match") == before + 1


async def test_error_on_one_side_only_is_a_mismatch() -> None:
    inventory, shadow = shadowed(MemoryInventory(LEVELS), MemoryInventory(), 1.0)
    before = count("stock", "mismatch")

    await inventory.stock("mug")
    await shadow.drain()

    assert count("stock", "mismatch") == before + 1


async def test_different_error_attributes_are_a_mismatch(
    caplog: pytest.LogCaptureFixture,
) -> None:
    candidate = MemoryInventory(error=NotStocked("cup"))
    inventory, shadow = shadowed(MemoryInventory(), candidate, 1.0)
    before = count("stock", "mismatch")

    with caplog.at_level(logging.WARNING):
        with pytest.raises(NotStocked):
            await inventory.stock("mug")
        await shadow.drain()

    assert count("stock", "mismatch") == before + 1
    [record] = records(caplog, "mismatch")
    assert record.shadow_differences == ["<error>.item"]  # type: ignore[attr-defined]


async def test_unavailable_candidate_is_a_candidate_error_not_a_mismatch() -> None:
    candidate = MemoryInventory(error=InventoryDown("down"))
    inventory, shadow = shadowed(MemoryInventory(LEVELS), candidate, 1.0)
    errors, mismatches = count("stock", "candidate_error"), count("stock", "mismatch")

    assert (await inventory.stock("mug")).level == 5
    await shadow.drain()

    assert count("stock", "candidate_error") == errors + 1
    assert count("stock", "mismatch") == mismatches


async def test_a_candidate_failing_outside_the_contract_is_a_candidate_error() -> None:
    candidate = MemoryInventory(error=RuntimeError("a bug in the candidate"))
    inventory, shadow = shadowed(MemoryInventory(LEVELS), candidate, 1.0)
    errors = count("stock", "candidate_error")

    assert (await inventory.stock("mug")).level == 5
    await shadow.drain()

    assert count("stock", "candidate_error") == errors + 1


async def test_slow_candidate_does_not_delay_the_caller() -> None:
    primary = MemoryInventory(LEVELS, delay=0.02)
    candidate = MemoryInventory(LEVELS, delay=0.5)
    inventory, shadow = shadowed(primary, candidate, 2.0)
    before = count("stock", "match")

    start = time.perf_counter()
    await inventory.stock("mug")
    elapsed = time.perf_counter() - start

    assert elapsed < 0.15
    assert shadow.pending == 1
    await shadow.drain()
    assert count("stock", "match") == before + 1


async def test_candidate_past_the_timeout_is_recorded_as_timeout() -> None:
    candidate = MemoryInventory(LEVELS, delay=5)
    inventory, shadow = shadowed(MemoryInventory(LEVELS), candidate, 0.05)
    before = count("lookup", "candidate_timeout")

    await inventory.lookup(["mug"])
    await shadow.drain()

    assert count("lookup", "candidate_timeout") == before + 1
    assert shadow.pending == 0


async def test_aclose_cancels_comparisons_in_flight() -> None:
    candidate = MemoryInventory(LEVELS, delay=5)
    inventory, shadow = shadowed(MemoryInventory(LEVELS), candidate, 10.0)
    before = count("stock", "candidate_timeout")

    await inventory.stock("mug")
    start = time.perf_counter()
    await shadow.aclose()

    assert time.perf_counter() - start < 0.1
    assert shadow.pending == 0
    assert count("stock", "candidate_timeout") == before


@pytest.mark.parametrize("method", ["stock", "lookup"])
async def test_every_read_isshadowed(method: str) -> None:
    candidate = MemoryInventory(LEVELS)
    inventory, shadow = shadowed(MemoryInventory(LEVELS), candidate, 1.0)
    before = count(method, "match")
    calls: dict[str, Callable[[], Awaitable[object]]] = {
        "stock": lambda: inventory.stock("mug"),
        "lookup": lambda: inventory.lookup(["mug", "cup"]),
    }

    await calls[method]()
    await shadow.drain()

    assert candidate.calls == [method]
    assert count(method, "match") == before + 1


async def test_writes_never_reach_the_candidate() -> None:
    primary, candidate = MemoryInventory(LEVELS), MemoryInventory(LEVELS)
    inventory, shadow = shadowed(primary, candidate, 1.0)

    await inventory.take("mug", 1)
    await inventory.take("mug", 2)
    await shadow.drain()

    assert primary.calls == ["take", "take"]
    assert candidate.calls == []
    assert candidate.levels == LEVELS


async def test_a_read_the_table_does_not_compare_is_not_mirrored() -> None:
    # ``compared=False`` on a read: shadow mode serves it from the primary only.
    table = MethodTable(
        Inventory,
        [METHODS["stock"], METHODS["take"], Method("lookup", reads=True, compared=False)],
    )
    candidate = MemoryInventory(LEVELS)
    shadow = Shadow(on(candidate), COMPARER, METRICS, 1.0)
    primary = MemoryInventory(LEVELS)
    inventory: Inventory = client(table, compose([shadow.at(1.0)], on(primary)), "Shadowed")

    await inventory.lookup(["mug"])
    await inventory.stock("mug")
    await shadow.drain()

    assert primary.calls == ["lookup", "stock"]
    assert candidate.calls == ["stock"]


async def test_primary_failure_reaches_the_caller_unchanged() -> None:
    primary = MemoryInventory(error=InventoryDown("local db down"))
    inventory, shadow = shadowed(primary, MemoryInventory(), 1.0)

    with pytest.raises(InventoryDown, match="local db down"):
        await inventory.stock("mug")
    await shadow.drain()


async def test_reads_beyond_max_in_flight_skip_the_candidate() -> None:
    candidate = MemoryInventory(LEVELS, delay=5)
    inventory, shadow = shadowed(MemoryInventory(LEVELS), candidate, 10.0, max_in_flight=1)
    before = count("stock", "skipped")

    await inventory.stock("mug")
    await inventory.stock("mug")
    await asyncio.sleep(0)  # let the one background read start

    assert candidate.calls == ["stock"]
    assert count("stock", "skipped") == before + 1
    await shadow.aclose()


async def test_sample_rate_zero_never_calls_the_candidate() -> None:
    candidate = MemoryInventory(LEVELS)
    inventory, shadow = shadowed(MemoryInventory(LEVELS), candidate, 1.0, rate=0.0)
    before = count("stock", "sampled_out")

    for _ in range(5):
        assert (await inventory.stock("mug")).level == 5
    await shadow.drain()

    assert candidate.calls == []
    assert count("stock", "sampled_out") == before + 5


async def test_sample_rate_one_mirrors_every_read() -> None:
    candidate = MemoryInventory(LEVELS)
    inventory, shadow = shadowed(MemoryInventory(LEVELS), candidate, 1.0, rate=1.0)
    before = count("stock", "sampled_out")

    for _ in range(20):
        await inventory.stock("mug")
    await shadow.drain()

    assert candidate.calls == ["stock"] * 20
    assert count("stock", "sampled_out") == before


async def test_a_fractional_sample_rate_mirrors_the_reads_the_rng_picks() -> None:
    candidate = MemoryInventory(LEVELS)
    rate, reads = 0.25, 200
    picks = random.Random(7)
    expected = sum(picks.random() < rate for _ in range(reads))
    shadow = Shadow(on(candidate), COMPARER, METRICS, 1.0, rng=random.Random(7))
    inventory = view(shadow, MemoryInventory(LEVELS), rate)
    before = count("stock", "sampled_out")

    for _ in range(reads):
        await inventory.stock("mug")
    await shadow.drain()

    assert len(candidate.calls) == expected
    assert 0 < expected < reads
    assert count("stock", "sampled_out") == before + reads - expected


def test_sample_rate_outside_zero_to_one_is_refused() -> None:
    shadow = Shadow(on(MemoryInventory()), COMPARER, METRICS, 1.0)

    with pytest.raises(ValueError, match="sample_rate"):
        shadow.at(1.5)
    with pytest.raises(ValueError, match="sample_rate"):
        shadow.at(-0.1)


async def test_a_view_at_another_rate_shares_the_comparisons_in_flight() -> None:
    candidate = MemoryInventory(LEVELS, delay=10.0)
    shadow = Shadow(on(candidate), COMPARER, METRICS, 30.0)
    primary = MemoryInventory(LEVELS)
    never, always = shadow.at(0.0), shadow.at(1.0)
    at_zero = client(METHODS, compose([never], on(primary)), "AtZero")
    at_one = client(METHODS, compose([always], on(primary)), "AtOne")

    await at_zero.stock("mug")  # rate 0: not mirrored
    await at_one.stock("mug")  # rate 1: mirrored, still running
    await asyncio.sleep(0)  # let the comparison task start

    assert (never.rate, always.rate) == (0.0, 1.0)
    assert never.shadow is always.shadow is shadow
    assert candidate.calls == ["stock"]
    assert shadow.pending == 1
    await shadow.aclose()  # the one shutdown cancels every view's comparisons
    assert shadow.pending == 0
