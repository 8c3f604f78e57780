"""The transaction boundary handlers work inside."""

from collections.abc import Callable
from types import TracebackType
from typing import Protocol, Self

from products.domain.ports import ProductRepository, ReservationRepository


class UnitOfWork(Protocol):
    """One database transaction; leaving the block without ``commit()`` rolls back."""

    @property
    def products(self) -> ProductRepository:
        """Products inside this transaction."""
        ...

    @property
    def reservations(self) -> ReservationRepository:
        """Reservations inside this transaction."""
        ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None:
        """Make everything done in this unit of work durable."""
        ...


UnitOfWorkFactory = Callable[[], UnitOfWork]
"""Builds a fresh unit of work per use case call."""
