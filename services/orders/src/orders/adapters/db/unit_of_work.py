"""SQLAlchemy unit of work: orders and their outbox rows commit together."""

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from orders.adapters.db.repository import SqlAlchemyOrderRepository
from orders.adapters.outbox.writer import append_events
from servicekit.clock import Clock, utc_now


class SqlAlchemyUnitOfWork:
    """One connection, one transaction; exiting without commit rolls back.

    SQLAlchemy Core on a pooled connection, no ORM session: the repository
    issues its own statements and keeps no identity map beyond ``seen``.
    """

    orders: SqlAlchemyOrderRepository

    def __init__(self, engine: AsyncEngine, clock: Clock = utc_now) -> None:
        self._engine = engine
        self._clock = clock

    async def __aenter__(self) -> Self:
        self._connection: AsyncConnection = await self._engine.connect()
        self.orders = SqlAlchemyOrderRepository(self._connection)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self._connection.rollback()
        finally:
            await self._connection.close()

    async def commit(self) -> None:
        # Events recorded by the aggregates go into the outbox in this same transaction.
        events = [event for order in self.orders.seen.values() for event in order.events]
        await append_events(self._connection, events, self._clock())
        await self._connection.commit()
        for order in self.orders.seen.values():
            order.events.clear()
