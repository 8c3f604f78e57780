"""The adaptive limit, the bulkhead that follows it, and the hang watch (ADR 0024)."""

import asyncio
import logging

import pytest
from prometheus_client import REGISTRY

from libs.servicekit.tests.remotes import METRICS, QueueFull
from servicekit.http_client.protect import AdaptiveLimit, Bulkhead, HangWatch


def _bulkhead(limit: int, max_wait: float, adaptive: AdaptiveLimit | None = None) -> Bulkhead:
    return Bulkhead(
        limit, max_wait, name="inventory", metrics=METRICS, refused=QueueFull, adaptive=adaptive
    )


def test_the_limit_shrinks_when_latency_rises_past_its_baseline_and_recovers() -> None:
    limit = AdaptiveLimit(20, min_limit=5)
    for _ in range(200):
        limit.sample(0.01, in_flight=20)
    assert limit.limit == 20
    for _ in range(50):
        limit.sample(0.2, in_flight=20)  # the remote queues: 20x its baseline
    # At least halved (the baseline itself drifts up meanwhile, as in Gradient2).
    assert limit.limit <= 10
    for _ in range(300):
        limit.sample(0.01, in_flight=limit.limit)
    assert limit.limit == 20


def test_a_steady_slow_remote_keeps_the_whole_limit() -> None:
    limit = AdaptiveLimit(10, min_limit=2)
    for _ in range(500):
        limit.sample(0.11, in_flight=10)
    assert limit.limit == 10


def test_drops_shrink_the_limit_but_never_below_its_floor() -> None:
    limit = AdaptiveLimit(10, min_limit=3)
    for _ in range(50):
        limit.dropped()
    assert limit.limit == 3


async def test_a_call_past_the_limit_fails_at_once_when_its_wait_cannot_fit() -> None:
    limit = AdaptiveLimit(1)
    limit.sample(1.0, in_flight=1)  # one call takes a second at this pace
    bulkhead = _bulkhead(1, 0.5, limit)
    async with bulkhead.slot():
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(QueueFull, match=r"^0 calls already wait for the 1 calls to inventory"):
            async with bulkhead.slot():
                pass
        assert loop.time() - started < 0.05  # refused, not after waiting 0.5 s


async def test_a_call_that_waits_out_max_wait_is_refused_and_counted() -> None:
    bulkhead = _bulkhead(1, 0.02)
    rejected = "kittest_remote_bulkhead_rejected_total"
    before = REGISTRY.get_sample_value(rejected) or 0.0
    async with bulkhead.slot():
        assert REGISTRY.get_sample_value("kittest_remote_bulkhead_in_flight") == 1
        with pytest.raises(QueueFull, match=r"^all 1 connections to inventory stayed busy for"):
            async with bulkhead.slot():
                pass
    assert REGISTRY.get_sample_value(rejected) == before + 1
    assert (bulkhead.in_flight, bulkhead.waiting) == (0, 0)


async def test_waiting_calls_get_slots_in_order() -> None:
    bulkhead = _bulkhead(1, 5.0)
    order: list[int] = []

    async def call(n: int) -> None:
        async with bulkhead.slot():
            order.append(n)
            await asyncio.sleep(0.01)

    await asyncio.gather(*(call(n) for n in range(5)))
    assert order == [0, 1, 2, 3, 4]
    assert bulkhead.in_flight == 0


async def test_the_hang_watch_cuts_every_waiting_call_once_nothing_answers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    hangs: list[str] = []
    watch = HangWatch(hangs.append, name="inventory", floor_seconds=0.1, check_interval=0.02)

    async def waiting_call() -> bool:
        try:
            async with asyncio.timeout(10) as bound:
                with watch.watching(bound) as cut:
                    await asyncio.sleep(10)
        except TimeoutError:
            return cut()
        return False

    loop = asyncio.get_running_loop()
    started = loop.time()
    with caplog.at_level(logging.WARNING, logger="servicekit.http_client.protect.hang"):
        results = await asyncio.gather(*(waiting_call() for _ in range(3)))
    assert results == [True, True, True]
    assert loop.time() - started < 1.0
    [reason] = hangs
    assert reason.startswith("no answer from inventory for ")
    assert reason.endswith(" with 3 calls waiting (stall limit 0.10s)")
    assert caplog.messages == [f"inventory hung: {reason}"]
    await watch.aclose()


async def test_answers_keep_the_hang_watch_quiet() -> None:
    hangs: list[str] = []
    watch = HangWatch(hangs.append, name="inventory", floor_seconds=0.1, check_interval=0.02)

    async def slow_call() -> None:
        async with asyncio.timeout(10) as bound:
            with watch.watching(bound):
                await asyncio.sleep(0.3)

    async def answers() -> None:
        for _ in range(10):
            await asyncio.sleep(0.04)
            watch.progress()  # other calls keep getting answers: busy, not hung

    await asyncio.gather(slow_call(), answers())
    assert hangs == []
    await watch.aclose()
