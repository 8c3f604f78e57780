"""What a database failure means to a caller: "retry later", "bad value", or neither.

One classification for every service, so an outage of any database reads the same.
"""

from sqlalchemy import exc as sa_exc

# SQLSTATEs meaning "the database cannot serve this now, the same request may work
# later": connection exceptions, insufficient resources (too many clients), operator
# intervention (shutdown), serialization failure and deadlock.
_RETRYABLE_SQLSTATES = ("08", "53", "57P", "40001", "40P01")


def _sqlstate(error: BaseException) -> str:
    return str(getattr(getattr(error, "orig", None), "sqlstate", None) or "")


def database_unavailable(error: BaseException) -> bool:
    """Failures that mean "try again later", as opposed to bugs or constraint violations."""
    if isinstance(error, sa_exc.DBAPIError):
        return (
            error.connection_invalidated
            or isinstance(error, sa_exc.OperationalError | sa_exc.InterfaceError)
            or _sqlstate(error).startswith(_RETRYABLE_SQLSTATES)
        )
    return isinstance(error, sa_exc.TimeoutError | OSError)


def value_rejected(error: BaseException) -> bool:
    """The database refused a value (SQLSTATE class 22): bad input, not a server fault."""
    if isinstance(error, sa_exc.DataError):
        return True
    return isinstance(error, sa_exc.DBAPIError) and _sqlstate(error).startswith("22")
