"""Builds the products machinery for one process: engine, use cases, sweeper.

Shared by the HTTP app's lifespan and the in-process facade so both wire the
service the same way. Nothing here connects until it is used.
"""

from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from products.adapters.sweeper import ReservationSweeper
from products.adapters.unit_of_work import SqlAlchemyUnitOfWork
from products.application.clock import Clock, utc_now
from products.application.service import ProductsService
from servicekit.db import autocommit_engine, create_engine, ping, session_factory


class ProductsRuntime:
    """Everything one process needs to serve products; ``start`` / ``aclose`` bracket its life."""

    def __init__(
        self,
        database_url: str,
        *,
        reservation_ttl_seconds: float,
        sweep_interval_seconds: float,
        max_bulk_import_size: int = 100,
        pool_size: int = 10,
        max_overflow: int = 10,
        echo: bool = False,
        clock: Clock = utc_now,
    ) -> None:
        self.engine: AsyncEngine = create_engine(
            database_url, pool_size=pool_size, max_overflow=max_overflow, echo=echo
        )
        sessions = session_factory(self.engine)
        read_sessions = session_factory(autocommit_engine(self.engine))
        self.service = ProductsService(
            lambda: SqlAlchemyUnitOfWork(sessions),
            read_uow_factory=lambda: SqlAlchemyUnitOfWork(read_sessions),
            reservation_ttl=timedelta(seconds=reservation_ttl_seconds),
            max_bulk_import_size=max_bulk_import_size,
            clock=clock,
        )
        self.sweeper = ReservationSweeper(self.service.expire_lapsed, sweep_interval_seconds)

    async def start(self, *, run_sweeper: bool = True) -> None:
        """Start background work."""
        if run_sweeper:
            self.sweeper.start()

    async def aclose(self) -> None:
        """Stop background work, then close every database connection."""
        await self.sweeper.stop()
        await self.engine.dispose()

    async def ping(self) -> dict[str, Any]:
        """Readiness: the database answers."""
        return await ping(self.engine)
