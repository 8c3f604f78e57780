"""The SQLAlchemy unit of work: one session, one transaction."""

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from products.adapters.inbox_repository import SqlInbox
from products.adapters.product_repository import SqlProductRepository
from products.adapters.reservation_repository import SqlReservationRepository
from products.domain.errors import InvalidInput
from servicekit.db_errors import database_unavailable, value_rejected
from shop_contracts.errors import ProductsUnavailable


class SqlAlchemyUnitOfWork:
    """``UnitOfWork`` over a session; database outages surface as ``ProductsUnavailable``.

    Translating here means the HTTP API answers 503 + Retry-After and the
    in-process facade raises the same exception the HTTP client would. Values
    the database rejects become ``InvalidInput`` (422), never a 500.
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._session: AsyncSession | None = None

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("unit of work used outside its 'async with' block")
        return self._session

    @property
    def products(self) -> SqlProductRepository:
        return SqlProductRepository(self.session)

    @property
    def reservations(self) -> SqlReservationRepository:
        return SqlReservationRepository(self.session)

    @property
    def inbox(self) -> SqlInbox:
        return SqlInbox(self.session)

    async def __aenter__(self) -> Self:
        self._session = self._sessions()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session, self._session = self.session, None
        # Closing rolls back whatever was not committed.
        await session.close()
        if exc is None:
            return
        if database_unavailable(exc):
            raise ProductsUnavailable("The products database is unavailable") from exc
        if value_rejected(exc):
            raise InvalidInput("A value cannot be stored or searched for") from exc

    async def commit(self) -> None:
        await self.session.commit()
