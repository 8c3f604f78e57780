"""HTTP servers as child processes: a free port, spawn, poll readiness, stop in order.

One helper for everything that starts a service on this machine: the dev runner,
the benchmark and the cross-process tests. Standard library only; readiness is
polled with urllib (without proxies: the servers are local).
"""

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

_POLL_SECONDS = 0.1
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class ProcessExited(RuntimeError):
    """The child ended while we were waiting for it to become ready."""

    def __init__(self, name: str, code: int, log: str = "") -> None:
        super().__init__(f"{name} exited with code {code} while starting" + _tail(log))
        self.code = code


class ProcessNotReady(TimeoutError):
    """The child did not answer its readiness check in time."""

    def __init__(self, name: str, timeout: float, log: str = "") -> None:
        super().__init__(f"{name} not ready after {timeout:g}s" + _tail(log))


def _tail(log: str) -> str:
    return f":\n{log}" if log else ""


def free_port(host: str = "127.0.0.1", environ: Mapping[str, str] = os.environ) -> int:
    """A TCP port on ``host`` that nothing listens on right now.

    Between choosing a port and a server binding it, another process may be given
    the same one. Under pytest-xdist each worker takes only ports of its own share
    (half the port, mod the worker count: Linux hands ``bind`` odd ports), so two
    workers never race for one: a server that lost such a race would leave its
    caller talking to the winner.
    """
    workers = int(environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
    worker = environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    share = int(worker) % workers if worker.isdigit() and workers > 1 else None
    for _ in range(_PORT_ATTEMPTS):
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
            sock.bind((host, 0))
            port: int = sock.getsockname()[1]
        if share is None or port_share(port, workers) == share:
            return port
    return port  # so many tries all outside the share: take the last, as without workers


_PORT_ATTEMPTS = 1_000


def port_share(port: int, workers: int) -> int:
    """Which test worker's share a port belongs to (see ``free_port``)."""
    return (port // 2) % workers


def dial_host(host: str) -> str:
    """The address a local client dials for a listen address (wildcards → loopback)."""
    host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)  # noqa: S104
    return f"[{host}]" if ":" in host else host


def base_url(host: str, port: int) -> str:
    """``http://host:port`` as a client on this machine reaches a server listening there."""
    return f"http://{dial_host(host)}:{port}"


def is_ready(url: str, path: str = "/health/ready", timeout: float = 1.0) -> bool:
    """Whether ``GET {url}{path}`` answers 200."""
    try:
        with _NO_PROXY.open(f"{url}{path}", timeout=timeout) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def uvicorn_command(app: str, host: str, port: int, *flags: str) -> list[str]:
    """``python -m uvicorn --factory APP --host H --port P FLAGS`` with this interpreter."""
    return [
        sys.executable, "-m", "uvicorn", "--factory", app,
        "--host", host, "--port", str(port), *flags,
    ]  # fmt: skip


def stop_processes(
    processes: Sequence["subprocess.Popen[bytes]"], timeout: float
) -> list["subprocess.Popen[bytes]"]:
    """SIGTERM all (last first), wait up to ``timeout`` each, SIGKILL the rest.

    Returns the processes that ignored SIGTERM and had to be killed.
    """
    for process in reversed(processes):
        if process.poll() is None:
            process.terminate()
    killed: list[subprocess.Popen[bytes]] = []
    for process in reversed(processes):
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            killed.append(process)
            process.kill()
            process.wait()
    return killed


@dataclass
class ServerProcess:
    """One HTTP server process: its command, where it answers, where its output goes."""

    name: str
    command: Sequence[str]
    url: str
    env: Mapping[str, str] | None = None  # the whole environment; None inherits ours
    cwd: Path | None = None
    log_path: Path | None = None  # None: the child shares our stdout and stderr
    ready_path: str = "/health/ready"
    # Own session: a terminal's Ctrl-C reaches only us, and we stop the children in order.
    new_session: bool = False
    process: "subprocess.Popen[bytes] | None" = field(default=None, repr=False)

    def start(self) -> "ServerProcess":
        """Spawn the process (does not wait for readiness)."""
        if self.log_path is None:
            self.process = self._spawn(None)
            return self
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = self._spawn(log)
        return self

    def _spawn(self, log: IO[bytes] | None) -> "subprocess.Popen[bytes]":
        # argv comes from our own callers (interpreter, module names), never a shell string
        return subprocess.Popen(  # noqa: S603
            list(self.command),
            env=None if self.env is None else dict(self.env),
            cwd=self.cwd,
            stdout=log,
            stderr=None if log is None else subprocess.STDOUT,
            start_new_session=self.new_session,
        )

    @property
    def pid(self) -> int:
        """The process id (started processes only)."""
        return self._started().pid

    @property
    def returncode(self) -> int | None:
        """The exit status once the process has ended, else None."""
        return None if self.process is None else self.process.poll()

    def _started(self) -> "subprocess.Popen[bytes]":
        if self.process is None:
            raise RuntimeError(f"{self.name} was never started")
        return self.process

    def wait_ready(self, timeout: float, stop: threading.Event | None = None) -> bool:
        """Poll readiness until it answers (True) or ``stop`` is set (False).

        Raises ``ProcessExited`` if the child dies first and ``ProcessNotReady`` at the
        deadline, both carrying the child's log when it has one.
        """
        process = self._started()
        deadline = time.monotonic() + timeout
        while not is_ready(self.url, self.ready_path):
            code = process.poll()
            if code is not None:
                raise ProcessExited(self.name, code, self.read_log())
            if stop is not None and stop.is_set():
                return False
            if time.monotonic() >= deadline:
                raise ProcessNotReady(self.name, timeout, self.read_log())
            if stop is not None:
                stop.wait(_POLL_SECONDS)
            else:
                time.sleep(_POLL_SECONDS)
        return True

    def wait_exit(self, timeout: float) -> int:
        """Wait for the process to end on its own; its exit status."""
        try:
            return self._started().wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise TimeoutError(
                f"{self.name} still running after {timeout:g}s" + _tail(self.read_log())
            ) from None

    def read_log(self) -> str:
        """The process output so far ("" when it writes to our terminal)."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to clean up (crash simulation)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL if it does not exit within ``timeout``."""
        if self.process is not None:
            stop_processes([self.process], timeout)
