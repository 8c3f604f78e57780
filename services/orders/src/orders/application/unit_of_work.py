"""The unit of work: one transaction over the repository and the outbox."""

from collections.abc import Callable
from typing import Protocol

from orders.domain.ports import OrderRepositoryPort
from servicekit.transaction import Transaction


class UnitOfWork(Transaction, Protocol):
    """Commit writes the orders and the events they recorded, atomically; exit rolls back."""

    @property
    def orders(self) -> OrderRepositoryPort:
        """The orders repository bound to this unit's transaction."""
        ...


UnitOfWorkFactory = Callable[[], UnitOfWork]
