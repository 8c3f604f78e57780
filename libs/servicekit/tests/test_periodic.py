"""A periodic loop survives failing runs and stops cleanly."""

import asyncio

import pytest

from servicekit.periodic import PeriodicTask


class _Job:
    """Fails on the first call, then succeeds."""

    def __init__(self) -> None:
        self.calls = 0
        self.called = asyncio.Event()

    async def __call__(self) -> None:
        self.calls += 1
        if self.calls >= 3:
            self.called.set()
        if self.calls == 1:
            raise ConnectionError("database restarting")


async def test_a_failed_run_is_logged_and_the_next_tick_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    job = _Job()
    task = PeriodicTask("reservation-sweeper", 0.01, job)

    task.start()
    await asyncio.wait_for(job.called.wait(), timeout=2)
    await task.stop()

    assert job.calls >= 3
    assert "background job reservation-sweeper failed" in caplog.text
    assert not task.running


async def test_run_once_reports_whether_the_run_succeeded() -> None:
    task = PeriodicTask("job", 60, _Job())

    assert await task.run_once() is False  # the failing first call
    assert await task.run_once() is True


async def test_stopping_a_task_that_never_started_is_harmless() -> None:
    task = PeriodicTask("job", 60, _Job())

    await task.stop()

    assert not task.running
