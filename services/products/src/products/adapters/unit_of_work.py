"""The SQLAlchemy unit of work: one session, one transaction."""

from types import TracebackType
from typing import Self

from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from products.adapters.product_repository import SqlProductRepository
from products.adapters.reservation_repository import SqlReservationRepository
from products.domain.errors import InvalidInput
from shop_contracts.errors import ProductsUnavailable

# SQLSTATEs meaning "the database cannot serve this now, the same request may work
# later": connection exceptions, insufficient resources (too many clients), operator
# intervention (shutdown), serialization failure and deadlock.
_RETRYABLE_SQLSTATES = ("08", "53", "57P", "40001", "40P01")


def _sqlstate(error: BaseException) -> str:
    return str(getattr(getattr(error, "orig", None), "sqlstate", None) or "")


def _database_unreachable(error: BaseException) -> bool:
    """Failures that mean "try again later", as opposed to bugs or constraint violations."""
    if isinstance(error, sa_exc.DBAPIError):
        return (
            error.connection_invalidated
            or isinstance(error, sa_exc.OperationalError | sa_exc.InterfaceError)
            or _sqlstate(error).startswith(_RETRYABLE_SQLSTATES)
        )
    return isinstance(error, sa_exc.TimeoutError | OSError)


def _invalid_data(error: BaseException) -> bool:
    """The database refused a value (SQLSTATE class 22): bad input, not a server fault."""
    if isinstance(error, sa_exc.DataError):
        return True
    return isinstance(error, sa_exc.DBAPIError) and _sqlstate(error).startswith("22")


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
        if _database_unreachable(exc):
            raise ProductsUnavailable("The products database is unavailable") from exc
        if _invalid_data(exc):
            raise InvalidInput("A value cannot be stored or searched for") from exc

    async def commit(self) -> None:
        await self.session.commit()
