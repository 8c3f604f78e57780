"""The uvicorn processes under test: one worker each, the services' production flags."""

import os
import secrets
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from bench.e2e.databases import raw_dsn
from bench.e2e.paths import BENCH, RESULTS, ROOT
from servicekit.auth import mint_user_token
from servicekit.processes import ServerProcess, base_url, free_port, uvicorn_command
from servicekit.settings import Environment, ServiceSettings

HOST = "127.0.0.1"
# The flags every app runs with, the services' and the reference apps' alike.
UVICORN_FLAGS = (
    "--loop", "uvloop", "--http", "httptools", "--log-level", "warning", "--no-access-log",
)  # fmt: skip


@dataclass(frozen=True)
class Secrets:
    """Strong secrets generated per run (production refuses the dev defaults)."""

    jwt: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    service: str = field(default_factory=lambda: secrets.token_urlsafe(36))
    tuning: tuple[tuple[str, str], ...] = ()

    def env(self) -> dict[str, str]:
        """Settings every service process gets."""
        return {
            "APP_ENVIRONMENT": "production",
            # HS256, explicitly allowed: the reference apps verify the same token, so the
            # ratios compare like with like (production's JWKS path: ADR 0021).
            "APP_JWT_ALLOW_HS256_IN_PRODUCTION": "true",
            "APP_JWT_SECRET": self.jwt,
            "APP_SERVICE_TOKEN": self.service,
            "APP_SERVICE_CALLERS": f"orders={self.service}",
            "APP_LOG_LEVEL": "WARNING",
            **dict(self.tuning),
        }

    def token(self, user_id: str, *roles: str) -> str:
        """A user JWT the services accept."""
        settings = ServiceSettings(environment=Environment.TESTING, jwt_secret=SecretStr(self.jwt))
        return mint_user_token(settings, user_id, roles=roles, ttl_seconds=6 * 3600)


def _port() -> int:
    return free_port(HOST)


@dataclass
class Server:
    """One app under test: a uvicorn process serving ``factory``."""

    name: str
    factory: str
    env: dict[str, str]
    ready_path: str = "/health/ready"
    app_dir: str | None = None
    # More than one: started through the service's own ``serve --workers N`` command.
    workers: int = 1
    port: int = field(default_factory=_port)
    _process: ServerProcess | None = None

    @property
    def url(self) -> str:
        """Base URL of the app."""
        return base_url(HOST, self.port)

    @property
    def pid(self) -> int:
        """The process id (started servers only)."""
        if self._process is None:
            raise RuntimeError(f"{self.name} was never started")
        return self._process.pid

    def start(self) -> "Server":
        """Spawn the process; its output goes to ``bench-results/logs/<name>.log``."""
        log_path = RESULTS / "logs" / f"{self.name}.log"
        log_path.unlink(missing_ok=True)
        self._process = ServerProcess(
            self.name,
            self._command(),
            self.url,
            {**os.environ, **self.env},
            cwd=ROOT,
            log_path=log_path,
            ready_path=self.ready_path,
        ).start()
        return self

    def _command(self) -> list[str]:
        if self.workers > 1:
            service = self.factory.split(".", 1)[0]
            cli = str(Path(sys.executable).parent / service)
            port = str(self.port)
            return [cli, "serve", "--host", HOST, "--port", port, "--workers", str(self.workers)]
        flags = [*UVICORN_FLAGS, *(["--app-dir", self.app_dir] if self.app_dir else [])]
        return uvicorn_command(self.factory, HOST, self.port, *flags)

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Until the readiness path answers 200."""
        if self._process is None:
            raise RuntimeError(f"{self.name} was never started")
        self._process.wait_ready(timeout)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s."""
        if self._process is not None:
            self._process.stop(timeout=10)


@contextmanager
def running(servers: Sequence[Server]) -> Iterator[None]:
    """Start all servers (in parallel), wait until ready, stop them all at the end."""
    try:
        for server in servers:
            server.start()
        for server in servers:
            server.wait_ready()
        yield
    finally:
        for server in servers:
            server.stop()


def products_server(name: str, database_url: str, keys: Secrets) -> Server:
    """The products service on its database."""
    env = {**keys.env(), "APP_DATABASE_URL": database_url}
    return Server(name, "products.main:create_app", env)


def orders_server(
    name: str,
    mode: str,
    *,
    orders_db: str,
    products_db: str,
    products_url: str,
    keys: Secrets,
    extra_env: dict[str, str] | None = None,
    workers: int = 1,
) -> Server:
    """The orders service with ``APP_PRODUCTS_CLIENT=mode`` (``workers`` > 1: ``orders serve``)."""
    env = {
        **keys.env(),
        "APP_DATABASE_URL": orders_db,
        "APP_PRODUCTS_CLIENT": mode,
        "APP_PRODUCTS_DATABASE_URL": products_db,
        "APP_PRODUCTS_URL": products_url,
        **(extra_env or {}),
    }
    return Server(name, "orders.main:create_app", env, workers=workers)


def naive_server(server: Server) -> Server:
    """``server``'s orders app over a product client that builds an httpx client per call."""
    return Server("orders-naive", "naive_app:create_app", server.env, app_dir=str(BENCH))


def ceiling_server() -> Server:
    """A bare FastAPI JSON endpoint (``bench/ceiling_app.py``)."""
    return Server("ceiling", "ceiling_app:create_app", {}, "/ceiling", str(BENCH))


def anchor_server(database_url: str, pool: int = 20) -> Server:
    """The reference app (``bench/anchor_app.py``) on its own database, ``pool`` per pool."""
    env = {"ANCHOR_DSN": raw_dsn(database_url), "ANCHOR_POOL": str(pool)}
    return Server("anchor", "anchor_app:create_app", env, "/ready", str(BENCH))


@dataclass(frozen=True)
class Target:
    """One row of the matrix: a scenario served by one app, with its wrk script."""

    scenario: str
    name: str
    server: Server
    script: Path
