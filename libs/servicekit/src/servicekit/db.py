"""Async SQLAlchemy engines that behave on both PostgreSQL and SQLite."""

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from servicekit.fairpool import FairAsyncQueuePool
from servicekit.tracing import instrument_engine

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def metadata() -> MetaData:
    """A MetaData with the shared constraint naming convention (stable migration names)."""
    return MetaData(naming_convention=NAMING_CONVENTION)


def is_sqlite(url: str) -> bool:
    """Whether a database URL points at SQLite."""
    return make_url(url).get_backend_name() == "sqlite"


def _prepare_sqlite_file(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


# Connections older than this are replaced at checkout (no extra round trip).
POOL_RECYCLE_SECONDS = 1800
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})


def tls_connect_args(url: str, environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """``{"ssl": False}`` for a PostgreSQL server on this machine with no TLS configured.

    asyncpg's default (``sslmode=prefer``) first tries TLS on every new
    connection, a wasted handshake on a loopback or Unix socket. TLS stays as
    configured whenever the URL (``ssl`` / ``sslmode``) or ``PGSSLMODE`` says
    anything, and for every remote host.
    """
    parsed = make_url(url)
    if {"ssl", "sslmode"} & set(parsed.query) or environ.get("PGSSLMODE"):
        return {}
    host = parsed.host or parsed.query.get("host") or environ.get("PGHOST") or ""
    if isinstance(host, tuple):
        host = host[0]
    local = host in _LOOPBACK or host == "" or host.startswith("/")
    return {"ssl": False} if local else {}


def create_engine(
    url: str, *, pool_size: int = 20, max_overflow: int = 0, echo: bool = False
) -> AsyncEngine:
    """Build an engine; on SQLite every transaction starts with ``BEGIN IMMEDIATE``.

    Deferred SQLite transactions fail with "database is locked" when two
    writers upgrade their read locks at once; taking the write lock up front
    makes concurrent writers queue on ``busy_timeout`` instead.

    On PostgreSQL there is no pre-ping round trip (SQLAlchemy's cost three per
    checkout, ADR 0008); instead a checkout refuses a connection the server has
    closed, at no round trip (``refuse_closed_connections``, ADR 0019).
    Connections are recycled after ``POOL_RECYCLE_SECONDS``, and a statement
    that fails on a dead connection invalidates it and the whole pool's older
    connections (callers map that failure to 503).

    With tracing on, every statement is a span (``servicekit.tracing``).

    Checkouts are served in the order they were asked for (``FairAsyncQueuePool``,
    ADR 0030): SQLAlchemy's own asyncio pool lets a newcomer take a returned
    connection before the waiter it was meant for.

    The pool keeps ``pool_size`` connections open and by default opens no
    overflow: an overflow connection is closed as soon as it is returned, so
    under load the pool would connect and disconnect on every burst (ADR 0011).
    """
    if not is_sqlite(url):
        engine = create_async_engine(
            url,
            poolclass=FairAsyncQueuePool,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_recycle=POOL_RECYCLE_SECONDS,
            connect_args=tls_connect_args(url),
            echo=echo,
        )
        refuse_closed_connections(engine)
        instrument_engine(engine)
        return engine
    _prepare_sqlite_file(url)
    engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30})

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to SQLAlchemy so the "begin" hook decides how to BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get(_SQLITE_DEFERRED):
            conn.exec_driver_sql("BEGIN DEFERRED")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    instrument_engine(engine)
    return engine


def refuse_closed_connections(engine: AsyncEngine) -> None:
    """Never hand out a pooled asyncpg connection whose socket the server has closed.

    A restart, ``pg_terminate_backend`` or an idle timeout closes the server's end;
    asyncpg notices the closed socket as soon as the event loop runs, without a
    query. Checking that flag at checkout costs no round trip (a pre-ping costs
    three), and raising ``DisconnectionError`` makes the pool replace the
    connection before the request sees it. A server that vanished without closing
    the socket is still found only by the first statement (ADR 0019).
    """

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        raw = getattr(dbapi_connection, "_connection", None)  # under SQLAlchemy's adapter
        if raw is not None and raw.is_closed():
            raise sa_exc.DisconnectionError("the server closed this pooled connection")


# Execution option read by the SQLite "begin" hook: BEGIN DEFERRED instead of IMMEDIATE.
_SQLITE_DEFERRED = "servicekit_sqlite_deferred"


def read_engine(engine: AsyncEngine) -> AsyncEngine:
    """A view of ``engine`` (same pool) for reads only, which never wait for a writer.

    On PostgreSQL it is ``autocommit_engine``. On SQLite its transactions
    ``BEGIN DEFERRED``: in WAL mode such a reader sees the last committed data
    without taking (or queueing for) the write lock that ``BEGIN IMMEDIATE``
    takes, so a frequent read (a cache refresh) neither waits behind a
    writer's transaction nor holds writers up. Never write through it: a
    deferred transaction that upgrades to a writer is what ``BEGIN IMMEDIATE``
    exists to avoid ("database is locked").
    """
    if engine.dialect.name == "sqlite":
        return engine.execution_options(**{_SQLITE_DEFERRED: True})
    return autocommit_engine(engine)


def autocommit_engine(engine: AsyncEngine) -> AsyncEngine:
    """A view of ``engine`` (same pool) whose connections run each statement on its own.

    For reads that are one statement, or whose statements need no common
    snapshot: on PostgreSQL no ``BEGIN`` / ``ROLLBACK`` round trips. Never use
    it for writes that must commit together. On SQLite the engine itself is
    returned (switching pysqlite's isolation mode per checkout would change the
    connection's transaction handling for the writers sharing the pool); for
    reads on SQLite that must not wait for writers, see ``read_engine``.
    """
    if engine.dialect.name == "sqlite":
        return engine
    return engine.execution_options(isolation_level="AUTOCOMMIT")


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded attributes after commit (we map to DTOs afterwards)."""
    return async_sessionmaker(engine, expire_on_commit=False)


async def ping(engine: AsyncEngine) -> dict[str, Any]:
    """Readiness probe: one round trip to the database."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
    return {"backend": engine.dialect.name}
