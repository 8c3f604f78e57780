"""A PostgreSQL server a test owns: its own data folder and port, so it may restart or kill it."""

import asyncio
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from servicekit.processes import free_port

HOST = "127.0.0.1"
# The distribution's server first (the machine's), else the one in the pgserver wheel.
_SYSTEM_BIN = Path("/usr/lib/postgresql/15/bin")
# PostgreSQL refuses to run as root; then it runs as this account (the distribution's).
_RUN_AS = "postgres"


def server_binaries() -> Path | None:
    """A folder holding ``initdb`` and ``postgres``, or None when this machine has neither."""
    if _has_server(_SYSTEM_BIN):
        return _SYSTEM_BIN
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset, on import of pgserver.
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        try:
            from pgserver import _commands
        except ImportError:
            return None
    wheel: Path = _commands.POSTGRES_BIN_PATH
    return wheel if _has_server(wheel) else None


def _has_server(folder: Path) -> bool:
    return (folder / "initdb").exists() and (folder / "postgres").exists()


def _run_as() -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(_RUN_AS)
    except KeyError:
        return None
    return _RUN_AS


@dataclass
class OwnedPostgres:
    """One server on 127.0.0.1 at a free port; the test starts, restarts, kills and stops it.

    Only this object's postmaster is ever signalled, by its own pid.
    """

    bin_dir: Path
    root: Path
    port: int = field(default_factory=free_port)
    _process: subprocess.Popen[bytes] | None = None

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log_path(self) -> Path:
        return self.root / "postgres.log"

    def url(self, database: str = "postgres") -> str:
        """The asyncpg URL of a database on this server (trust authentication)."""
        return f"postgresql+asyncpg://postgres@{HOST}:{self.port}/{database}"

    def init(self) -> "OwnedPostgres":
        """``initdb`` a fresh cluster (trust auth, no fsync: the test throws it away)."""
        user = _run_as()
        if user is not None:
            shutil.chown(self.root, user)
        subprocess.run(
            [str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", "postgres",
             "--auth=trust", "--encoding=UTF8", "--no-sync"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
            user=user, timeout=120,
        )  # fmt: skip
        return self

    def start(self, *, wait: bool = True) -> None:
        """Start the postmaster (and wait until it accepts connections).

        ``fsync=off``: a killed process loses nothing the OS already has, and the test
        never crashes the OS. Commits stay synchronous, so a kill loses no commit.
        """
        if self._process is not None and self._process.poll() is None:
            raise RuntimeError("the server is already running")
        log = self.log_path.open("ab")
        self._process = subprocess.Popen(
            [str(self.bin_dir / "postgres"), "-D", str(self.data), "-p", str(self.port),
             "-h", HOST, "-k", str(self.root), "-c", "fsync=off", "-c", "max_connections=60"],
            stdout=log, stderr=subprocess.STDOUT, user=_run_as(), start_new_session=True,
        )  # fmt: skip
        log.close()
        if wait:
            self.wait_ready()

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Wait until a connection succeeds (not only until the port listens)."""
        deadline = time.monotonic() + timeout
        while True:
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(f"postgres exited:\n{self.log_path.read_text()[-3000:]}")
            try:
                asyncio.run(self._select_one())
                return
            except Exception:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.1)

    async def _select_one(self) -> None:
        import asyncpg

        conn = await asyncpg.connect(host=HOST, port=self.port, user="postgres", timeout=2)
        try:
            await conn.execute("SELECT 1")
        finally:
            await conn.close()

    def restart_fast(self) -> None:
        """What ``pg_ctl restart -m fast`` does: SIGINT, wait for exit, start again."""
        self._signal_and_wait(signal.SIGINT, timeout=30)
        self.start()

    def kill_postmaster(self) -> None:
        """SIGKILL the postmaster: its backends notice and exit on their own."""
        self._signal_and_wait(signal.SIGKILL, timeout=10)

    def stop(self) -> None:
        """Fast shutdown, then SIGKILL if it does not exit within 20 s."""
        if self._process is None or self._process.poll() is not None:
            return
        try:
            self._signal_and_wait(signal.SIGINT, timeout=20)
        except subprocess.TimeoutExpired:
            self._signal_and_wait(signal.SIGKILL, timeout=10)

    def _signal_and_wait(self, signum: int, timeout: float) -> None:
        if self._process is None or self._process.poll() is not None:
            return
        self._process.send_signal(signum)
        self._process.wait(timeout=timeout)

    def terminate_backends(self, databases: list[str]) -> int:
        """``pg_terminate_backend`` on every client backend of ``databases``; how many."""
        return asyncio.run(self._terminate(databases))

    async def _terminate(self, databases: list[str]) -> int:
        import asyncpg

        conn = await asyncpg.connect(host=HOST, port=self.port, user="postgres", timeout=5)
        try:
            rows = await conn.fetch(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = ANY($1::text[]) AND pid <> pg_backend_pid()",
                databases,
            )
        finally:
            await conn.close()
        return sum(1 for row in rows if row[0])

    def create_database(self, name: str) -> str:
        """CREATE DATABASE; its URL."""
        asyncio.run(self._admin(f'CREATE DATABASE "{name}"'))
        return self.url(name)

    async def _admin(self, statement: str) -> None:
        import asyncpg

        conn = await asyncpg.connect(host=HOST, port=self.port, user="postgres", timeout=5)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()


@contextmanager
def owned_postgres() -> Iterator[OwnedPostgres]:
    """A fresh server in a temporary folder for the block; stopped and removed afterwards.

    Raises ``LookupError`` when this machine has no server binaries.
    """
    bin_dir = server_binaries()
    if bin_dir is None:
        raise LookupError("no PostgreSQL server binaries (initdb, postgres) on this machine")
    root = Path(tempfile.mkdtemp(prefix="shop-owned-pg-"))
    server = OwnedPostgres(bin_dir, root)
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
