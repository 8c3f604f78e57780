"""``python -m deploy.dev`` end to end: real migrations, seed, uvicorn children, signals."""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.processes import ROOT, ServiceProcess, free_port

pytestmark = pytest.mark.slow

_READY_BANNER = "Ctrl-C stops everything."


class Runner:
    """The dev runner as a subprocess, its output drained by a thread."""

    def __init__(self, data_dir: Path, *args: str) -> None:
        self.products_port, self.orders_port = free_port(), free_port()
        self.data_dir = data_dir
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "deploy.dev", "--data-dir", str(data_dir),
                "--products-port", str(self.products_port),
                "--orders-port", str(self.orders_port), "--jwks-port", str(free_port()), *args,
            ],
            cwd=ROOT,
            env={**os.environ, "APP_LOG_JSON": "false"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for_banner(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while _READY_BANNER not in self.lines:
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"runner not ready (exit {self.process.poll()}):\n{self.output}")
            time.sleep(0.1)

    def pids(self) -> dict[str, int]:
        found = re.findall(r"^  (products|orders)\s+http\S+\s+\(pid (\d+)\)$", self.output, re.M)
        return {name: int(pid) for name, pid in found}

    def url(self, port: int, path: str) -> str:
        return f"http://127.0.0.1:{port}{path}"

    def close(self) -> None:
        """Stop as a user would (SIGTERM); SIGKILL the runner and its children only as a fallback."""
        children = self.pids().values()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        for pid in children:
            if not _wait_gone(pid, timeout=10):
                os.kill(pid, signal.SIGKILL)
        self._reader.join(timeout=10)
        if not self._reader.is_alive() and self.process.stdout is not None:
            self.process.stdout.close()


StartRunner = Callable[..., Runner]


@pytest.fixture
def runner_factory(tmp_path: Path) -> Iterator[StartRunner]:
    started: list[Runner] = []

    def start(*args: str) -> Runner:
        started.append(Runner(tmp_path / "data", *args))
        return started[-1]

    yield start
    for runner in started:
        runner.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _wait_gone(pid: int, timeout: float = 15) -> bool:
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not _alive(pid)


def _request(
    url: str, token: str | None = None, body: object = None, headers: dict[str, str] | None = None
) -> tuple[int, object]:
    request = urllib.request.Request(url, method="GET" if body is None else "POST")
    for key, value in {
        **(headers or {}),
        **({"Authorization": f"Bearer {token}"} if token else {}),
    }.items():
        request.add_header(key, value)
    if body is not None:
        request.data = json.dumps(body).encode()
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def _token(runner: Runner, user: str) -> str:
    """What ``just token USER`` prints: same module, same environment, the runner's key."""
    result = subprocess.run(
        [sys.executable, "-m", "servicekit.token", user],
        cwd=ROOT, check=True, capture_output=True, text=True, timeout=60,
        env={**os.environ, "APP_ENVIRONMENT": "development", "DEV_DATA_DIR": str(runner.data_dir)},
    )  # fmt: skip
    return result.stdout.strip()


def test_http_mode_serves_both_and_an_order_goes_through_products(
    runner_factory: StartRunner,
) -> None:
    runner = runner_factory()
    runner.wait_for_banner()

    status, page = _request(runner.url(runner.products_port, "/api/v1/products?page_size=100"))
    assert status == 200
    assert isinstance(page, dict)
    assert page["total"] >= 50
    product_id = page["items"][0]["id"]
    assert product_id in runner.output  # the printed curl example is ready to paste
    status, order = _request(
        runner.url(runner.orders_port, "/api/v1/orders"),
        token=_token(runner, "alice"),
        body={"items": [{"product_id": product_id, "quantity": 1}]},
        headers={"Idempotency-Key": "dev-stack-test"},
    )
    assert status == 201, order


def test_sigterm_stops_both_children_and_exits_cleanly(runner_factory: StartRunner) -> None:
    runner = runner_factory()
    runner.wait_for_banner()
    pids = runner.pids()
    assert set(pids) == {"products", "orders"}

    runner.process.send_signal(signal.SIGTERM)

    assert runner.process.wait(timeout=30) == 0
    assert all(_wait_gone(pid) for pid in pids.values()), runner.output


def test_a_dying_child_takes_the_runner_down_with_a_failure(runner_factory: StartRunner) -> None:
    runner = runner_factory()
    runner.wait_for_banner()
    pids = runner.pids()

    os.kill(pids["products"], signal.SIGKILL)

    assert runner.process.wait(timeout=30) != 0
    assert _wait_gone(pids["orders"]), runner.output
    assert "products exited with code" in runner.output


def test_local_mode_serves_orders_alone_over_the_same_data(runner_factory: StartRunner) -> None:
    runner = runner_factory("--local")
    runner.wait_for_banner()

    assert set(runner.pids()) == {"orders"}
    status, _ = _request(runner.url(runner.orders_port, "/health/ready"))
    assert status == 200
    status, orders = _request(
        runner.url(runner.orders_port, "/api/v1/orders"), _token(runner, "alice")
    )
    assert status == 200, orders


def _flags(data_dir: Path, *args: str, mode: str | None = None) -> subprocess.CompletedProcess[str]:
    """``orders flags ...`` over the dev stack's orders database, as ``just flags`` runs it."""
    env = {
        **os.environ,
        "APP_ENVIRONMENT": "development",
        "APP_DATABASE_URL": f"sqlite+aiosqlite:///{data_dir / 'orders.db'}",
    }
    env.pop("APP_PRODUCTS_CLIENT", None)
    if mode is not None:
        env["APP_PRODUCTS_CLIENT"] = mode
    return subprocess.run(
        [sys.executable, "-m", "orders.entrypoints.cli", "flags", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def _products_check(runner: Runner) -> dict[str, object]:
    status, ready = _request(runner.url(runner.orders_port, "/health/ready"))
    assert status == 200, ready
    assert isinstance(ready, dict)
    check: dict[str, object] = ready["checks"]["products"]
    return check


def test_the_mode_in_force_is_never_a_surprise(runner_factory: StartRunner, tmp_path: Path) -> None:
    data = tmp_path / "data"
    runner = runner_factory()
    runner.wait_for_banner()
    service = ["--service-url", runner.url(runner.orders_port, "")]

    # `just flags` asks the running orders which clients it built: http mode, http only.
    refused = _flags(data, *service, "set", "products_client=local", "--reason", "try")
    shown = _flags(data, *service, "show")
    runner.close()

    assert refused.returncode == 2, refused
    assert "choosable: http" in refused.stderr
    assert shown.stdout.splitlines()[-1] == "choosable products_client: http"
    assert re.search(r'^products_client +"http"  \(default\)$', shown.stdout, re.M), shown.stdout

    # An override stored for another stage; orders started in shadow mode reports it.
    stored = _flags(data, "set", "products_client=http", "--reason", "cut over", mode="canary")
    assert stored.returncode == 0, stored.stderr
    runner = runner_factory("--mode", "shadow")
    runner.wait_for_banner()
    check = _products_check(runner)

    # `just dev --mode shadow` resets it (audited) and the banner says what is in force.
    assert 'reset the stored "http" (set by ' in runner.output
    assert "orders uses the shadow products client" in runner.output
    assert (check["mode"], check["startup_mode"]) == ("shadow", "shadow")
    history = _flags(data, "history", "--limit", "1", mode="shadow").stdout
    assert 'just-dev  products_client: "http" -> null  (just dev --mode shadow' in history
    runner.close()

    # Without `just dev` (a Kubernetes stage change restarts orders with another
    # APP_PRODUCTS_CLIENT): the stored override stays in force, and orders says so.
    assert (
        _flags(
            data, "set", "products_client=http", "--reason", "cut over", mode="canary"
        ).returncode
        == 0
    )
    orders = ServiceProcess(
        "orders",
        {
            "APP_ENVIRONMENT": "development",
            "APP_LOG_JSON": "false",
            "APP_DATABASE_URL": f"sqlite+aiosqlite:///{data / 'orders.db'}",
            "APP_PRODUCTS_DATABASE_URL": f"sqlite+aiosqlite:///{data / 'products.db'}",
            "APP_PRODUCTS_CLIENT": "shadow",
            "APP_PRODUCTS_URL": "http://127.0.0.1:9",
        },
        log_dir=tmp_path / "logs",
    ).start()
    try:
        status, ready = _request(f"{orders.url}/health/ready")
    finally:
        orders.stop()

    assert status == 200, ready
    assert isinstance(ready, dict)
    check = ready["checks"]["products"]
    assert (check["mode"], check["startup_mode"]) == ("http", "shadow")
    assert check["mode_set"]["reason"] == "cut over"
    assert "products_client http is in force, not the start-up mode shadow" in orders.read_log()
