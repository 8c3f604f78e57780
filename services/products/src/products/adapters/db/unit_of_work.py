"""The SQLAlchemy unit of work: one connection, one transaction (Core, no ORM session)."""

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncEngine

from products.adapters.db.inbox import SqlAlchemyInbox
from products.adapters.db.product_repository import SqlAlchemyProductRepository
from products.adapters.db.reservation_repository import SqlAlchemyReservationRepository
from products.domain.errors import InvalidInput
from servicekit.db_errors import database_unavailable, value_rejected
from servicekit.sql import Sql
from shop_contracts.errors import ProductsUnavailable


class SqlAlchemyUnitOfWork:
    """``UnitOfWork`` over a pooled connection; database outages surface as ``ProductsUnavailable``.

    Translating here means the HTTP API answers 503 + Retry-After and the
    in-process facade raises the same exception the HTTP client would. Values
    the database rejects become ``InvalidInput`` (422), never a 500.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._sql: Sql | None = None

    @property
    def sql(self) -> Sql:
        if self._sql is None:
            raise RuntimeError("unit of work used outside its 'async with' block")
        return self._sql

    @property
    def products(self) -> SqlAlchemyProductRepository:
        return SqlAlchemyProductRepository(self.sql)

    @property
    def reservations(self) -> SqlAlchemyReservationRepository:
        return SqlAlchemyReservationRepository(self.sql)

    @property
    def inbox(self) -> SqlAlchemyInbox:
        return SqlAlchemyInbox(self.sql)

    async def __aenter__(self) -> Self:
        sql = Sql(self._engine, lazy=True)
        try:
            await sql.__aenter__()
        except Exception as exc:
            _translate(exc)
            raise
        self._sql = sql
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        sql, self._sql = self.sql, None
        # Closing rolls back whatever was not committed.
        await sql.__aexit__(exc_type, exc, tb)
        if exc is not None:
            _translate(exc)

    async def commit(self) -> None:
        await self.sql.commit()


def _translate(exc: BaseException) -> None:
    """Raise the error callers can act on for a database failure; return for anything else."""
    if database_unavailable(exc):
        raise ProductsUnavailable("The products database is unavailable") from exc
    if value_rejected(exc):
        raise InvalidInput("A value cannot be stored or searched for") from exc
