"""The transaction boundary handlers work inside."""

from collections.abc import Callable
from typing import Protocol

from products.domain.ports import (
    InboxRepositoryPort,
    ProductRepositoryPort,
    ReservationRepositoryPort,
)
from servicekit.transaction import Transaction


class UnitOfWork(Transaction, Protocol):
    """One database transaction over products and reservations; exit without commit rolls back."""

    @property
    def products(self) -> ProductRepositoryPort:
        """Products inside this transaction."""
        ...

    @property
    def reservations(self) -> ReservationRepositoryPort:
        """Reservations inside this transaction."""
        ...

    @property
    def inbox(self) -> InboxRepositoryPort:
        """Applied integration events inside this transaction."""
        ...


UnitOfWorkFactory = Callable[[], UnitOfWork]
"""Builds a fresh unit of work per use case call."""
