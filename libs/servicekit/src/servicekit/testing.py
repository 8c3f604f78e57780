"""Test helpers: find a PostgreSQL server and hand out fresh, throw-away databases.

Order of preference: ``TEST_DATABASE_URL``; else a testcontainers PostgreSQL
when a Docker engine answers; else skip with a visible reason, except when
``REQUIRE_POSTGRES=1`` (CI), where a missing database fails the run.
"""

import asyncio
import os
import threading
import uuid
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy.engine import URL, make_url

T = TypeVar("T")

_container_lock = threading.Lock()
_container: Any = None


def _run_sync(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion from sync code, even under a running loop."""
    result: list[T] = []
    error: list[BaseException] = []

    def target() -> None:
        try:
            result.append(asyncio.run(factory()))
        except BaseException as exc:  # re-raised in the caller's thread
            error.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result[0]


def _docker_available() -> bool:
    # docker-py leaks its socket when the engine is absent (a ResourceWarning, an error
    # under -W error), so do not even try when there is no engine to talk to.
    if not os.environ.get("DOCKER_HOST") and not Path("/var/run/docker.sock").exists():
        return False
    try:
        import docker  # type: ignore[import-untyped]

        client = docker.from_env()
    except Exception:
        return False
    try:
        client.ping()
    except Exception:
        return False
    finally:
        client.close()
    return True


def _server_url() -> URL:
    configured = os.environ.get("TEST_DATABASE_URL")
    if configured:
        return make_url(configured).set(drivername="postgresql+asyncpg")
    global _container
    with _container_lock:
        if _container is None and _docker_available():
            from testcontainers.postgres import PostgresContainer

            _container = PostgresContainer("postgres:16-alpine", driver="asyncpg").start()
    if _container is not None:
        return make_url(_container.get_connection_url())
    reason = "PostgreSQL not available: set TEST_DATABASE_URL or run a Docker engine"
    if os.environ.get("REQUIRE_POSTGRES") == "1":
        pytest.fail(f"REQUIRE_POSTGRES=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def postgres_server_url() -> URL:
    """The server URL to create test databases on (skips or fails as documented above)."""
    return _server_url()


async def _admin(url: URL, statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(
        host=url.host,
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        database=url.database or "postgres",
    )
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@contextmanager
def fresh_postgres_database(prefix: str) -> Iterator[str]:
    """Create an empty database for the duration of the block; yields its asyncpg URL."""
    server = postgres_server_url()
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    _run_sync(lambda: _admin(server, f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        _run_sync(lambda: _admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
