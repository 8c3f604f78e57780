"""Run the services as real uvicorn processes for cross-service tests."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def run_cli(module: str, *args: str, env: Mapping[str, str], timeout: float = 120) -> str:
    """Run a service CLI (e.g. ``products.entrypoints.cli migrate``) to completion.

    Returns its combined output; a non-zero exit raises with that output attached.
    """
    completed = subprocess.run(
        [sys.executable, "-m", module, *args],
        env={**os.environ, **env},
        cwd=ROOT,
        check=False,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=timeout,
    )
    output = completed.stdout.decode(errors="replace")
    if completed.returncode != 0:
        raise RuntimeError(
            f"{module} {' '.join(args)} exited with {completed.returncode}:\n{output}"
        )
    return output


@dataclass
class ServiceProcess:
    """One uvicorn process serving ``<package>.main:create_app`` on 127.0.0.1."""

    package: str
    env: dict[str, str]
    log_dir: Path
    port: int = field(default_factory=free_port)
    # True: run ``<package>.entrypoints.cli serve``, which configures the JSON
    # logging (request ids) and uvicorn's access log, as an operator would.
    via_cli: bool = False
    _proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Base URL of the running service."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        """Where the process writes stdout and stderr (JSON log lines)."""
        return self.log_dir / f"{self.package}-{self.port}.log"

    def start(self, ready_timeout: float = 30.0) -> "ServiceProcess":
        """Spawn the process and wait until ``/health/ready`` answers 200."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self._proc = subprocess.Popen(
            self._command(),
            # Unbuffered, so the log file is complete the moment a test reads it.
            env={**os.environ, **self.env, "PYTHONUNBUFFERED": "1"},
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        log.close()
        self.wait_ready(ready_timeout)
        return self

    def _command(self) -> list[str]:
        address = ["--host", "127.0.0.1", "--port", str(self.port)]
        if self.via_cli:
            return [sys.executable, "-m", f"{self.package}.entrypoints.cli", "serve", *address]
        app = f"{self.package}.main:create_app"
        return [sys.executable, "-m", "uvicorn", "--factory", app, *address, "--no-access-log"]

    @property
    def returncode(self) -> int | None:
        """The exit status once the process has ended, else None."""
        return None if self._proc is None else self._proc.poll()

    def wait_exit(self, timeout: float) -> int:
        """Wait for the process to end on its own; its exit status."""
        if self._proc is None:
            raise RuntimeError(f"{self.package} was never started")
        try:
            return self._proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise TimeoutError(
                f"{self.package} still running after {timeout}s:\n{self.read_log()}"
            ) from None

    def wait_ready(self, timeout: float) -> None:
        """Poll readiness; fail with the process log if it never gets there."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise RuntimeError(f"{self.package} exited early:\n{self.read_log()}")
            try:
                if httpx.get(f"{self.url}/health/ready", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{self.package} not ready after {timeout}s:\n{self.read_log()}")

    def read_log(self) -> str:
        """The process output so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to clean up (crash simulation)."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGKILL)
            self._proc.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not exit within 10 s."""
        if self._proc is None or self._proc.poll() is not None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()
