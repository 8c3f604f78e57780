"""The unit of work: one transaction over the repository and the outbox."""

from collections.abc import Callable
from types import TracebackType
from typing import Protocol, Self

from orders.domain.ports import OrderRepositoryPort


class UnitOfWork(Protocol):
    """Commit writes the orders and the events they recorded, atomically; exit rolls back."""

    @property
    def orders(self) -> OrderRepositoryPort:
        """The orders repository bound to this unit's transaction."""
        ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None:
        """Make every change and its outbox rows durable together."""
        ...

    async def rollback(self) -> None:
        """Throw away uncommitted changes."""
        ...


UnitOfWorkFactory = Callable[[], UnitOfWork]
