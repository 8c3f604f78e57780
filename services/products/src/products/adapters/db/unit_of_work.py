"""The SQLAlchemy unit of work: one connection, one transaction (Core, no ORM session)."""

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncEngine

from products.adapters.db.connection import ProductsSql
from products.adapters.db.inbox import SqlAlchemyInbox
from products.adapters.db.product_repository import SqlAlchemyProductRepository
from products.adapters.db.reservation_repository import SqlAlchemyReservationRepository
from servicekit.sql import Sql


class SqlAlchemyUnitOfWork:
    """``UnitOfWork`` over a pooled connection; database outages surface as ``ProductsUnavailable``.

    The connection (``ProductsSql``) translates database failures, as it does
    for the queries.
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
        sql = ProductsSql(self._engine, lazy=True)
        await sql.__aenter__()
        self._sql = sql
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        sql, self._sql = self.sql, None
        await sql.__aexit__(exc_type, exc, tb)

    async def commit(self) -> None:
        await self.sql.commit()
