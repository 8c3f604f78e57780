"""Run the services as real uvicorn processes for cross-service tests."""

import contextlib
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from servicekit.processes import ServerProcess, base_url, free_port, uvicorn_command

__all__ = ["ROOT", "ServiceProcess", "free_port", "process_tree", "run_cli", "signal_tree"]

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"


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
    _server: ServerProcess | None = None

    @property
    def url(self) -> str:
        """Base URL of the running service."""
        return base_url(HOST, self.port)

    @property
    def log_path(self) -> Path:
        """Where the process writes stdout and stderr (JSON log lines)."""
        return self.log_dir / f"{self.package}-{self.port}.log"

    def start(self, ready_timeout: float = 30.0) -> "ServiceProcess":
        """Spawn the process and wait until ``/health/ready`` answers 200."""
        self._server = ServerProcess(
            name=self.package,
            command=self._command(),
            url=self.url,
            # Unbuffered, so the log file is complete the moment a test reads it.
            env={**os.environ, **self.env, "PYTHONUNBUFFERED": "1"},
            cwd=ROOT,
            log_path=self.log_path,
        ).start()
        try:
            self._server.wait_ready(ready_timeout)
        except BaseException:
            self._server.stop(timeout=10)  # never leave a process behind a failed start
            raise
        return self

    def _command(self) -> list[str]:
        if self.via_cli:
            cli = [sys.executable, "-m", f"{self.package}.entrypoints.cli", "serve"]
            return [*cli, "--host", HOST, "--port", str(self.port)]
        return uvicorn_command(
            f"{self.package}.main:create_app", HOST, self.port, "--no-access-log"
        )

    @property
    def pid(self) -> int:
        """The process id of the started server."""
        return self._started().pid

    def _started(self) -> ServerProcess:
        if self._server is None:
            raise RuntimeError(f"{self.package} was never started")
        return self._server

    @property
    def returncode(self) -> int | None:
        """The exit status once the process has ended, else None."""
        return None if self._server is None else self._server.returncode

    def wait_exit(self, timeout: float) -> int:
        """Wait for the process to end on its own; its exit status."""
        return self._started().wait_exit(timeout)

    def read_log(self) -> str:
        """The process output so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to clean up (crash simulation)."""
        if self._server is not None:
            self._server.kill()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not exit within 10 s."""
        if self._server is not None:
            self._server.stop(timeout=10)


def process_tree(pid: int) -> list[int]:
    """``pid`` and every descendant alive now (from /proc; Linux only)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # ended meanwhile
        # The command name may hold spaces and parentheses: the ppid follows the last ")".
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def signal_tree(process: "ServiceProcess", signum: int) -> None:
    """Send ``signum`` to ``process`` and all its descendants (SIGSTOP freezes them all)."""
    for pid in process_tree(process.pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)
