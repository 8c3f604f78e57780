"""SQL unit of work: orders and their outbox rows commit together."""

from collections.abc import Callable
from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncEngine

from orders.adapters.db.repository import SqlAlchemyOrderRepository
from orders.adapters.outbox.writer import INSERT_OUTBOX, outbox_rows
from servicekit.clock import Clock, utc_now
from servicekit.sql import Sql


class SqlAlchemyUnitOfWork:
    """One connection, one transaction (none on an autocommit engine); exiting without commit rolls back."""

    orders: SqlAlchemyOrderRepository

    def __init__(
        self,
        engine: AsyncEngine,
        clock: Clock = utc_now,
        *,
        on_events: Callable[[], None] | None = None,
    ) -> None:
        self._engine = engine
        self._clock = clock
        # Told after a commit that wrote outbox rows (wakes this process's relay).
        self._on_events = on_events

    async def __aenter__(self) -> Self:
        self._sql = Sql(self._engine, lazy=True)
        await self._sql.__aenter__()
        self.orders = SqlAlchemyOrderRepository(self._sql)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._sql.__aexit__(exc_type, exc, tb)

    async def commit(self) -> None:
        # Events recorded by the aggregates go into the outbox in this same transaction.
        events = [event for order in self.orders.seen.values() for event in order.events]
        rows = outbox_rows(events, self._clock())
        if not await self.orders.write_alone(rows):
            await self.orders.flush()
            await self._sql.execute_many(INSERT_OUTBOX, rows)
            await self._sql.commit()
        if rows and self._on_events is not None:
            self._on_events()
        for order in self.orders.seen.values():
            order.events.clear()
