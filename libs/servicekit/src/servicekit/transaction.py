"""The transaction boundary both services' units of work share."""

from types import TracebackType
from typing import Protocol, Self


class Transaction(Protocol):
    """One database transaction: ``async with`` it; leaving without ``commit()`` rolls back."""

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None:
        """Make everything done inside the transaction durable."""
        ...
