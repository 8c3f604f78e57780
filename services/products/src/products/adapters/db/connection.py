"""A pooled connection whose database failures surface as products' errors (ADR 0019, ADR 0026)."""

from types import TracebackType
from typing import Self

from products.domain.errors import InvalidInput
from servicekit.db_errors import database_unavailable, value_rejected
from servicekit.sql import Sql
from shop_contracts.errors import ProductsUnavailable


class ProductsSql(Sql):
    """``Sql`` raising ``ProductsUnavailable`` for an outage, ``InvalidInput`` for a bad value.

    The unit of work and the queries both run on it, so a write and a read
    answer the same fault the same way: 503 + Retry-After over HTTP, and in the
    in-process facade the exception the HTTP client would raise. Values the
    database rejects become ``InvalidInput`` (422), never a 500.
    """

    async def __aenter__(self) -> Self:
        try:
            return await super().__aenter__()
        except Exception as exc:
            translate(exc)
            raise

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Closing rolls back whatever was not committed.
        await super().__aexit__(exc_type, exc, tb)
        if exc is not None:
            translate(exc)


def translate(exc: BaseException) -> None:
    """Raise the error callers can act on for a database failure; return for anything else."""
    if database_unavailable(exc):
        raise ProductsUnavailable("The products database is unavailable") from exc
    if value_rejected(exc):
        raise InvalidInput("A value cannot be stored or searched for") from exc
