"""``serve``: how many workers, and the multiprocess metrics directory they share."""

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from prometheus_client import Counter, Gauge, values

from servicekit.app import install_plumbing
from servicekit.metrics import metrics_router
from servicekit.serve import MULTIPROC_DIR_ENV, prepare_metrics_dir, worker_count
from servicekit.settings import Environment, ServiceSettings


def _production(workers: int | None = None) -> ServiceSettings:
    return ServiceSettings(
        environment=Environment.PRODUCTION,
        jwt_jwks_url="https://idp.example.com/jwks.json",
        jwt_issuer="https://idp.example.com",
        jwt_audience="shop",
        workers=workers,
    )


def test_workers_default_to_one_outside_production() -> None:
    assert worker_count(ServiceSettings(environment=Environment.DEVELOPMENT)) == 1
    assert worker_count(ServiceSettings(environment=Environment.TESTING)) == 1


def test_workers_default_to_the_cpus_in_production() -> None:
    assert worker_count(_production()) == len(os.sched_getaffinity(0))


def test_the_flag_beats_the_setting_which_beats_the_default() -> None:
    settings = _production(workers=3)
    assert worker_count(settings) == 3
    assert worker_count(settings, requested=2) == 2


def test_one_worker_uses_the_in_memory_registry(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(MULTIPROC_DIR_ENV, str(tmp_path))
    assert prepare_metrics_dir("svc", 1) is None
    assert MULTIPROC_DIR_ENV not in os.environ


def test_a_configured_directory_is_emptied_on_start(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    stale = tmp_path / "counter_123.db"
    stale.write_bytes(b"old run")
    monkeypatch.setenv(MULTIPROC_DIR_ENV, str(tmp_path))

    assert prepare_metrics_dir("svc", 2) is None

    assert not stale.exists()
    assert os.environ[MULTIPROC_DIR_ENV] == str(tmp_path)


def test_without_a_configured_directory_a_fresh_one_is_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # setenv first, so the variable this test makes is removed again afterwards.
    monkeypatch.setenv(MULTIPROC_DIR_ENV, "unset")
    monkeypatch.delenv(MULTIPROC_DIR_ENV)

    made = prepare_metrics_dir("svc", 2)

    assert made is not None
    assert made.is_dir()
    assert list(made.iterdir()) == []
    assert os.environ[MULTIPROC_DIR_ENV] == str(made)
    made.rmdir()


async def test_metrics_sum_every_worker_file_in_multiprocess_mode(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Two "workers" (pids) write the same counter into the shared directory.
    monkeypatch.setenv(MULTIPROC_DIR_ENV, str(tmp_path))
    for pid in (101, 102):
        monkeypatch.setattr(values, "ValueClass", values.MultiProcessValue(lambda p=pid: p))  # type: ignore[no-untyped-call]
        counter = Counter("serve_test_jobs", "jobs", registry=None)
        counter.inc(3 if pid == 101 else 4)
    app = FastAPI()
    app.include_router(metrics_router())

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        body = (await client.get("/metrics")).text

    assert "serve_test_jobs_total 7.0" in body


def _worker_gauge(pid: int, value: float, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(values, "ValueClass", values.MultiProcessValue(lambda: pid))  # type: ignore[no-untyped-call]
    gauge = Gauge("serve_test_active", "active", registry=None, multiprocess_mode="livemax")
    gauge.set(value)


def _dead_pid() -> int:
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(finished.stdout)


async def _scrape(app: FastAPI) -> str:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        return (await client.get("/metrics")).text


async def test_a_dead_workers_live_gauges_leave_the_metrics(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A worker that died with the gauge at 1, and this live one at 0: livemax is 0.
    monkeypatch.setenv(MULTIPROC_DIR_ENV, str(tmp_path))
    dead = _dead_pid()
    _worker_gauge(dead, 1, monkeypatch)
    _worker_gauge(os.getpid(), 0, monkeypatch)
    app = FastAPI()
    app.include_router(metrics_router())

    body = await _scrape(app)

    assert "serve_test_active 0.0" in body
    assert not (tmp_path / f"gauge_livemax_{dead}.db").exists()
    assert (tmp_path / f"gauge_livemax_{os.getpid()}.db").exists()


async def test_a_worker_drops_its_live_gauges_when_its_lifespan_ends(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(MULTIPROC_DIR_ENV, str(tmp_path))
    app = FastAPI()
    install_plumbing(app, ServiceSettings(environment=Environment.TESTING), "svc")

    async with LifespanManager(app):
        _worker_gauge(os.getpid(), 1, monkeypatch)
        assert (tmp_path / f"gauge_livemax_{os.getpid()}.db").exists()

    assert not (tmp_path / f"gauge_livemax_{os.getpid()}.db").exists()
