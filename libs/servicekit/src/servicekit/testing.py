"""Test helpers: throw-away PostgreSQL databases, a migrated schema's checks, spans in memory.

Order of preference:

1. ``TEST_DATABASE_URL``;
2. a testcontainers PostgreSQL (the image compose runs) when a Docker engine answers;
3. an embedded PostgreSQL from the ``pgserver`` wheel (server binaries inside the
   package, so a machine with only Python runs every test);
4. skip with the reason each fallback gave, except when ``REQUIRE_POSTGRES=1`` (CI),
   where a missing database fails the run.

A fallback server starts once per test process, on first use, and stops when the
process exits. The embedded server is shared by every process of one pytest-xdist
run (its data folder is named after the run), and pgserver stops it and deletes
the folder when the last of them exits.
"""

import asyncio
import atexit
import logging
import os
import shutil
import sys
import tempfile
import threading
import uuid
import warnings
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest
from sqlalchemy.engine import URL, make_url

from servicekit.tracing import install_tracer_provider, new_tracer_provider, reset_tracing

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from sqlalchemy import MetaData

T = TypeVar("T")

POSTGRES_IMAGE = "postgres:15-alpine"
"""The image testcontainers starts; the same as docker-compose.yml's ``postgres`` service."""

_lock = threading.Lock()
_server: URL | None = None
_unavailable: list[str] = []
_keep_alive: list[Any] = []  # the container or embedded server, alive until exit


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


def _container() -> URL | None:
    if not _docker_available():
        _unavailable.append("no Docker engine answers")
        return None
    from testcontainers.postgres import PostgresContainer

    container = PostgresContainer(POSTGRES_IMAGE, driver="asyncpg").start()
    _keep_alive.append(container)
    return make_url(container.get_connection_url())


def _embedded_data_dir() -> Path:
    # One folder per pytest-xdist run (its workers share one server), else per process.
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID") or f"pid{os.getpid()}"
    return Path(tempfile.gettempdir()) / f"shop-pgserver-{run}"


def _embedded() -> URL | None:
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (CI, containers) and falls
        # back to a folder under /tmp, which is where pgserver keeps its lock: fine here.
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        try:
            from pgserver.postgres_server import get_server
        except ImportError:
            _unavailable.append("pgserver is not installed (it has wheels up to Python 3.12)")
            return None
        try:
            # Runs as root too: pgserver then runs the server as its own system user.
            server = get_server(_embedded_data_dir(), cleanup_mode="delete")
        except Exception as exc:
            _unavailable.append(f"embedded PostgreSQL (pgserver) did not start: {exc!r}")
            return None
    # pgserver's exit hook, run by ours instead: a failure to stop there would end the
    # run with a traceback printed after pytest's summary.
    atexit.unregister(server._cleanup)
    atexit.register(stop_embedded, server.cleanup, _embedded_data_dir())
    _keep_alive.append(server)
    # A Unix socket (no TCP port to collide with): postgresql://postgres:@/postgres?host=DIR
    return make_url(server.get_uri()).set(drivername="postgresql+asyncpg", password=None)


def stop_embedded(cleanup: Callable[[], None], data_dir: Path) -> None:
    """Stop the embedded server at exit; a failure is one line on stderr, not a traceback."""
    # pgserver logs its stop at INFO; at exit the handlers a test configured may write
    # to streams pytest has closed ("--- Logging error ---" and a traceback each).
    logging.disable(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
            cleanup()
    except Exception as exc:  # at exit nothing can act on it: say so and tidy up
        print(
            f"embedded PostgreSQL ({data_dir}) did not stop cleanly: {exc!r}; folder removed",
            file=sys.stderr,
        )
        shutil.rmtree(data_dir, ignore_errors=True)
    finally:
        logging.disable(logging.NOTSET)


def _server_url() -> URL:
    configured = os.environ.get("TEST_DATABASE_URL")
    if configured:
        return make_url(configured).set(drivername="postgresql+asyncpg")
    global _server
    with _lock:
        if _server is None and not _unavailable:
            _server = _container() or _embedded()
    if _server is not None:
        return _server
    reason = "PostgreSQL not available: set TEST_DATABASE_URL; " + "; ".join(_unavailable)
    if os.environ.get("REQUIRE_POSTGRES") == "1":
        pytest.fail(f"REQUIRE_POSTGRES=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def postgres_server_url() -> URL:
    """The server URL to create test databases on (skips or fails as documented above)."""
    return _server_url()


def asyncpg_connect_args(url: URL) -> dict[str, Any]:
    """Keyword arguments for ``asyncpg.connect`` to the database at ``url``.

    The host may be a Unix socket folder given as ``?host=`` (the embedded server).
    """
    return {
        "host": url.host or url.query.get("host"),
        "port": url.port or 5432,
        "user": url.username,
        "password": url.password,
        "database": url.database or "postgres",
    }


async def _admin(url: URL, statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(**asyncpg_connect_args(url))
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


@contextmanager
def empty_database(backend: str, *, sqlite_file: Path, postgres_prefix: str) -> Iterator[str]:
    """An empty, unmigrated database for the block: ``sqlite_file``, or a fresh PostgreSQL one.

    ``backend`` is ``"sqlite"``, or anything else for PostgreSQL (``fresh_postgres_database``).
    """
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{sqlite_file}"
        return
    with fresh_postgres_database(postgres_prefix) as url:
        yield url


async def schema_differences(database_url: str, metadata: "MetaData") -> list[object]:
    """What alembic's autogenerate finds between the database and ``metadata`` ([] when equal).

    A service's migrations at head must leave none: they build exactly the tables
    its adapters use.
    """
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from servicekit.db import create_engine

    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(
                lambda sync: list(compare_metadata(MigrationContext.configure(sync), metadata))
            )
    finally:
        await engine.dispose()


async def table_names(database_url: str) -> set[str]:
    """The names of the database's tables."""
    from sqlalchemy import inspect

    from servicekit.db import create_engine

    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    finally:
        await engine.dispose()


@contextmanager
def recorded_spans() -> Iterator["InMemorySpanExporter"]:
    """Tracing on, into memory, for whatever is built inside the block (apps, engines, clients)."""
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = new_tracer_provider("test", environ={})
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    install_tracer_provider(provider)
    try:
        yield exporter
    finally:
        reset_tracing()
        provider.shutdown()
