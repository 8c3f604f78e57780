"""The sweeper loop survives failing sweeps and stops cleanly."""

import asyncio

import pytest

from products.adapters.sweeper import ReservationSweeper


class _Sweeps:
    """Fails on the first call, then reports one expiry per call."""

    def __init__(self) -> None:
        self.calls = 0
        self.called = asyncio.Event()

    async def __call__(self) -> int:
        self.calls += 1
        if self.calls >= 3:
            self.called.set()
        if self.calls == 1:
            raise ConnectionError("database restarting")
        return 1


async def test_a_failed_sweep_is_logged_and_the_next_tick_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sweeps = _Sweeps()
    sweeper = ReservationSweeper(sweeps, interval_seconds=0.01)

    sweeper.start()
    await asyncio.wait_for(sweeps.called.wait(), timeout=2)
    await sweeper.stop()

    assert sweeps.calls >= 3
    assert "reservation sweep failed" in caplog.text
    assert not sweeper.running


async def test_run_once_reports_how_many_were_expired() -> None:
    sweeps = _Sweeps()
    sweeper = ReservationSweeper(sweeps, interval_seconds=60)

    assert await sweeper.run_once() == 0  # the failing first call
    assert await sweeper.run_once() == 1


async def test_stopping_a_sweeper_that_never_started_is_harmless() -> None:
    sweeper = ReservationSweeper(_Sweeps(), interval_seconds=60)

    await sweeper.stop()

    assert not sweeper.running
