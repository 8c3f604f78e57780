"""Prebuilt Core statements run on asyncpg directly on PostgreSQL, through SQLAlchemy elsewhere (ADR 0022)."""

import re
import weakref
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self, TypeVar, cast

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.util.concurrency import greenlet_spawn

from servicekit.tracing import statement_span

_T = TypeVar("_T")
Row = Mapping[str, Any]
Params = Mapping[str, Any]

# ``$n`` placeholders, and expanding ``IN`` lists, in the order they appear.
_PLACEHOLDER = re.compile(r"IN \(__\[POSTCOMPILE_(\w+)\]\)|\$\d+")


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]
    processors: tuple[Callable[[Any], Any] | None, ...]
    # Values bound in the statement itself (``column == 5``), used when params omit them.
    defaults: Mapping[str, Any]


# By identity, dropped with the statement: a statement built per call compiles per call.
_compiled: dict[int, tuple["weakref.ref[ClauseElement]", _Compiled]] = {}


def _compile(statement: ClauseElement, dialect: Dialect) -> _Compiled:
    """The statement as asyncpg takes it: ``$n`` placeholders, lists bound as arrays."""
    key = id(statement)
    cached = _compiled.get(key)
    if cached is not None and cached[0]() is statement:
        return cached[1]
    compiled = cast(SQLCompiler, statement.compile(dialect=dialect))
    names = tuple(compiled.positiontup or ())
    # SQLAlchemy numbers the plain parameters $1.. in order and leaves expanding ones
    # for later; here every parameter is numbered by its place in ``names``.
    plain = [i for i, name in enumerate(names, start=1) if not compiled.binds[name].expanding]

    def renumber(match: re.Match[str]) -> str:
        if match.group(1):
            return f"= ANY(${names.index(match.group(1)) + 1})"
        return f"${plain[int(match.group(0)[1:]) - 1]}"

    sql = _PLACEHOLDER.sub(renumber, compiled.string)
    bind_processors = compiled._bind_processors
    processors = tuple(bind_processors.get(name) for name in names)
    defaults = {
        name: compiled.binds[name].effective_value
        for name in names
        if not compiled.binds[name].required
    }
    result = _Compiled(
        sql, names, cast(tuple[Callable[[Any], Any] | None, ...], processors), defaults
    )
    _compiled[key] = (weakref.ref(statement, lambda _: _compiled.pop(key, None)), result)
    return result


def _arguments(compiled: _Compiled, params: Params) -> list[Any]:
    arguments = []
    for name, processor in zip(compiled.names, compiled.processors, strict=True):
        value = params[name] if name in params else compiled.defaults[name]
        if processor is not None:
            value = [processor(v) for v in value] if isinstance(value, list) else processor(value)
        arguments.append(value)
    return arguments


def _rowcount(status: str) -> int:
    # asyncpg answers a command with its tag: "UPDATE 1", "INSERT 0 3", "DELETE 0".
    tail = status.rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else 0


class Sql:
    """One pooled connection that runs prebuilt statements, in a transaction or not.

    On PostgreSQL each statement goes straight to the asyncpg connection under
    SQLAlchemy's pool: compiled once, about a quarter of the CPU of the same
    statement through SQLAlchemy's execution layer (BENCHMARKS.md, "Cost per
    statement"). Elsewhere (SQLite) statements run through SQLAlchemy as usual.
    Statements must be built once (module constants): the compiled form is
    cached by identity. Rows are mappings by column name.
    """

    def __init__(
        self, engine: AsyncEngine, *, transaction: bool | None = None, lazy: bool = False
    ) -> None:
        self._engine = engine
        if transaction is None:
            # An autocommit view of the engine (servicekit.db.autocommit_engine) runs each
            # statement on its own, here as there.
            transaction = engine.get_execution_options().get("isolation_level") != "AUTOCOMMIT"
        self._transaction = transaction
        # Lazy: BEGIN goes out with the first statement, so a block whose only write
        # is one statement can send it alone (``first_alone``) in one round trip.
        self._lazy = lazy
        self._began = False
        self._connection: AsyncConnection | None = None
        self._fairy: Any = None
        self._invalidated = False
        self._adapted: Any = None
        self._driver: Any = None
        self._open: Any = None

    @property
    def dialect(self) -> Dialect:
        return self._engine.dialect

    async def __aenter__(self) -> Self:
        if self._engine.dialect.name != "postgresql":
            self._connection = await self._engine.connect()
            return self
        # The pooled DBAPI connection itself, not a SQLAlchemy Connection around it: its
        # checkout and return cost a third of one (BENCHMARKS.md, "Cost per statement").
        self._fairy = await self._engine.raw_connection()
        self._invalidated = False
        self._adapted = self._fairy.dbapi_connection
        self._driver = self._fairy.driver_connection
        if self._transaction and not self._lazy:
            try:
                await self._begin()
            except BaseException:
                await self._release()
                raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._fairy is None:
            connection, self._connection = self._require(), None
            # Closing rolls back whatever SQLAlchemy began and was not committed.
            await connection.close()
            return
        await self._release()

    async def _release(self) -> None:
        fairy, self._fairy = self._fairy, None
        driver, self._driver = self._driver, None
        open_transaction, self._open = self._open, None
        try:
            if open_transaction is not None and not self._invalidated:
                with suppress(Exception):  # a failed rollback discards the connection below
                    await open_transaction.rollback()
        finally:
            # A connection whose transaction state is unknown never goes back to the pool.
            if not self._invalidated and (driver.is_closed() or driver.is_in_transaction()):
                self._invalidated = True
                await greenlet_spawn(fairy.invalidate)
            await greenlet_spawn(fairy.close)

    async def _run(self, sql: str, call: Awaitable[_T]) -> _T:
        """Await a driver call; its errors become SQLAlchemy's, as if SQLAlchemy had run it."""
        try:
            with statement_span(sql):
                return await call
        except Exception as error:
            raise await self._translated(error, sql) from error

    async def _translated(self, error: Exception, sql: str) -> Exception:
        dialect = self.dialect
        try:
            self._adapted._handle_exception(error)
        except Exception as dbapi_error:
            error = dbapi_error
        dbapi_base = dialect.loaded_dbapi.Error
        if not isinstance(error, dbapi_base):
            return error
        disconnect = dialect.is_disconnect(error, self._adapted, None)
        if disconnect and self._fairy is not None and not self._invalidated:
            self._invalidated = True
            await greenlet_spawn(self._fairy.invalidate, error)
        return sa_exc.DBAPIError.instance(
            sql, None, error, dbapi_base, connection_invalidated=disconnect, dialect=dialect
        )

    async def _begin(self) -> None:
        self._began = True
        self._open = self._driver.transaction()
        await self._run("BEGIN", self._open.start())

    async def _ready(self) -> Any:
        """The driver connection, inside this block's transaction if it has one."""
        if self._transaction and not self._began:
            await self._begin()
        return self._driver

    @property
    def alone_possible(self) -> bool:
        """Whether ``first_alone`` may run now: PostgreSQL, and nothing sent in this block yet."""
        return self._driver is not None and not self._began

    async def rows_alone(self, sql: str, *arguments: Any) -> list[Row]:
        """Run one hand-written PostgreSQL statement as its own transaction; its rows.

        For work that is one statement (data-modifying CTEs make several writes one
        atomic statement): no BEGIN or COMMIT round trip. Only while
        ``alone_possible``; a later statement in the block begins a new transaction.
        """
        if not self.alone_possible:
            raise RuntimeError("rows_alone runs only on PostgreSQL, before anything else is sent")
        records = await self._run(sql, self._driver.fetch(sql, *arguments))
        return cast(list[Row], records)

    async def first_alone(self, sql: str, *arguments: Any) -> Row | None:
        """``rows_alone``'s first row, if any."""
        rows = await self.rows_alone(sql, *arguments)
        return rows[0] if rows else None

    def _require(self) -> AsyncConnection:
        if self._connection is None:
            raise RuntimeError("Sql used outside its 'async with' block")
        return self._connection

    async def commit(self) -> None:
        """Commit what this block wrote (nothing to do outside a transaction)."""
        if self._driver is None:
            await self._require().commit()
            return
        if self._open is not None:
            open_transaction, self._open = self._open, None
            await self._run("COMMIT", open_transaction.commit())
        self._began = False  # a later statement begins a new transaction, as SQLAlchemy's would

    async def rows(self, statement: ClauseElement, params: Params | None = None) -> list[Row]:
        """Every row the statement returns."""
        if self._driver is None:
            result = await self._require().execute(statement, dict(params or {}))  # type: ignore[call-overload]
            return list(result.mappings().all())
        return cast(list[Row], await self._on_driver("fetch", statement, params))

    async def first(self, statement: ClauseElement, params: Params | None = None) -> Row | None:
        """The first row the statement returns, if any."""
        if self._driver is None:
            result = await self._require().execute(statement, dict(params or {}))  # type: ignore[call-overload]
            return cast(Row | None, result.mappings().first())
        return cast(Row | None, await self._on_driver("fetchrow", statement, params))

    async def execute(self, statement: ClauseElement, params: Params | None = None) -> int:
        """Run a statement that returns no rows; how many rows it changed."""
        if self._driver is None:
            result = await self._require().execute(statement, dict(params or {}))  # type: ignore[call-overload]
            return int(result.rowcount)
        return _rowcount(await self._on_driver("execute", statement, params))

    async def _on_driver(self, method: str, statement: ClauseElement, params: Params | None) -> Any:
        """The statement, compiled once, sent with asyncpg's ``method`` in this block's transaction."""
        compiled = _compile(statement, self.dialect)
        arguments = _arguments(compiled, params or {})
        send = getattr(await self._ready(), method)
        return await self._run(compiled.sql, send(compiled.sql, *arguments))

    async def execute_many(self, statement: ClauseElement, rows: Sequence[Params]) -> None:
        """Run a statement once per parameter set, in one round trip."""
        if not rows:
            return
        if self._driver is None:
            await self._require().execute(statement, [dict(row) for row in rows])  # type: ignore[call-overload]
            return
        compiled = _compile(statement, self.dialect)
        arguments = [_arguments(compiled, row) for row in rows]
        await self._run(compiled.sql, (await self._ready()).executemany(compiled.sql, arguments))
