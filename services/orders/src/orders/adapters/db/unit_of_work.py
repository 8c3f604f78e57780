"""SQLAlchemy unit of work: orders and their outbox rows commit together."""

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orders.adapters.db.repository import SqlAlchemyOrderRepository
from orders.adapters.outbox.writer import append_events
from servicekit.clock import Clock, utc_now


class SqlAlchemyUnitOfWork:
    """One session, one transaction; exiting without commit rolls back."""

    orders: SqlAlchemyOrderRepository

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock = utc_now) -> None:
        self._sessions = sessions
        self._clock = clock

    async def __aenter__(self) -> Self:
        self._session = self._sessions()
        self.orders = SqlAlchemyOrderRepository(self._session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self._session.rollback()
        finally:
            await self._session.close()

    async def commit(self) -> None:
        # Events recorded by the aggregates go into the outbox in this same transaction.
        events = [event for order in self.orders.seen.values() for event in order.events]
        await append_events(self._session, events, self._clock())
        await self._session.commit()
        for order in self.orders.seen.values():
            order.events.clear()
