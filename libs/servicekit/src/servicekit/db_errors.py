"""What a database failure means to a caller: "retry later", "bad value", or neither.

One classification for every service, so an outage of any database reads the same.
"""

import asyncpg
from sqlalchemy import exc as sa_exc

# SQLSTATEs meaning "the database cannot serve this now, the same request may work
# later": connection exceptions, insufficient resources (too many clients), operator
# intervention (shutdown, "the database system is starting up"), serialization
# failure and deadlock.
_RETRYABLE_SQLSTATES = ("08", "53", "57P", "40001", "40P01")
# How far down a chain of wrapped errors to look (SQLAlchemy → adapter → asyncpg).
_MAX_DEPTH = 5

RETRY_AFTER_SECONDS = 1
"""What ``Retry-After`` says when a database is unavailable: a restart takes about a second."""


def _sqlstate(error: BaseException) -> str:
    return str(getattr(getattr(error, "orig", None), "sqlstate", None) or "")


def _causes(error: BaseException) -> list[BaseException]:
    """The error, then what it wraps (``orig``, ``__cause__``), never its ``__context__``.

    The context is whatever was being handled when it was raised; a bug raised while
    handling an outage is still a bug.
    """
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and len(chain) < _MAX_DEPTH and current not in chain:
        chain.append(current)
        orig = getattr(current, "orig", None)
        current = orig if isinstance(orig, BaseException) else current.__cause__
    return chain


def _outage(error: BaseException) -> bool:
    if isinstance(error, sa_exc.DBAPIError):
        return (
            error.connection_invalidated
            or isinstance(error, sa_exc.OperationalError | sa_exc.InterfaceError)
            or _sqlstate(error).startswith(_RETRYABLE_SQLSTATES)
        )
    if isinstance(error, asyncpg.PostgresError):
        # Raised unwrapped while connecting: "the database system is starting up" (57P03).
        return str(getattr(error, "sqlstate", "") or "").startswith(_RETRYABLE_SQLSTATES)
    # The connection broke under asyncpg ("connection was closed in the middle of
    # operation", "cannot switch to state ...; another operation is in progress");
    # its ValueError kind is a value it cannot encode: bad input, not an outage.
    if isinstance(error, asyncpg.InterfaceError | asyncpg.InternalClientError):
        return not isinstance(error, ValueError)
    # Refused or reset connections, connect and pool timeouts.
    return isinstance(error, sa_exc.TimeoutError | OSError)


def database_unavailable(error: BaseException) -> bool:
    """Failures that mean "try again later", as opposed to bugs or constraint violations."""
    return any(_outage(cause) for cause in _causes(error))


def value_rejected(error: BaseException) -> bool:
    """The database refused a value (SQLSTATE class 22): bad input, not a server fault."""
    if isinstance(error, sa_exc.DataError):
        return True
    return isinstance(error, sa_exc.DBAPIError) and _sqlstate(error).startswith("22")
