"""The one outage classification: what asyncpg and SQLAlchemy raise while a database blinks."""

import asyncpg
import pytest
from sqlalchemy import exc as sa_exc

from servicekit.db_errors import database_unavailable, value_rejected


def _wrapped(
    orig: BaseException, kind: type[sa_exc.DBAPIError] = sa_exc.DBAPIError
) -> sa_exc.DBAPIError:
    error = kind("SELECT 1", {}, orig)
    error.__cause__ = orig  # as SQLAlchemy raises it: ``raise ... from orig``
    return error


def _postgres(cls: type[asyncpg.PostgresError], message: str) -> asyncpg.PostgresError:
    return cls(message)


OUTAGES = [
    pytest.param(ConnectionRefusedError(111, "Connect call failed"), id="refused"),
    pytest.param(ConnectionResetError(104, "reset by peer"), id="reset"),
    pytest.param(TimeoutError(), id="connect-timeout"),
    pytest.param(sa_exc.TimeoutError("QueuePool limit reached"), id="pool-timeout"),
    pytest.param(
        _postgres(asyncpg.CannotConnectNowError, "the database system is starting up"),
        id="starting-up",
    ),
    pytest.param(
        _postgres(asyncpg.AdminShutdownError, "terminating connection due to administrator"),
        id="terminated",
    ),
    pytest.param(
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        id="closed-mid-operation",
    ),
    pytest.param(
        asyncpg.InternalClientError("cannot switch to state 12; another operation (2) is in"),
        id="state-switch",
    ),
    pytest.param(
        _wrapped(asyncpg.ConnectionDoesNotExistError("closed"), sa_exc.InterfaceError),
        id="sqlalchemy-interface",
    ),
    pytest.param(_wrapped(ConnectionRefusedError(111, "refused")), id="sqlalchemy-wrapping-os"),
    pytest.param(
        _wrapped(_postgres(asyncpg.DeadlockDetectedError, "deadlock detected")), id="deadlock"
    ),
]

NOT_OUTAGES = [
    pytest.param(RuntimeError("a bug"), id="bug"),
    pytest.param(
        _wrapped(_postgres(asyncpg.UniqueViolationError, "duplicate"), sa_exc.IntegrityError),
        id="unique-violation",
    ),
    pytest.param(
        _postgres(asyncpg.NumericValueOutOfRangeError, "value out of range"), id="bad-value"
    ),
    pytest.param(
        asyncpg.exceptions._base.DataError("invalid input for query argument"),
        id="unencodable-value",
    ),
]


@pytest.mark.parametrize("error", OUTAGES)
def test_an_outage_means_retry_later(error: BaseException) -> None:
    assert database_unavailable(error)


@pytest.mark.parametrize("error", NOT_OUTAGES)
def test_anything_else_is_no_outage(error: BaseException) -> None:
    assert not database_unavailable(error)


def test_a_bug_raised_while_handling_an_outage_is_still_a_bug() -> None:
    bug = KeyError("a bug in the handler")
    bug.__context__ = ConnectionRefusedError(111, "refused")

    assert not database_unavailable(bug)


def test_a_rejected_value_is_not_an_outage() -> None:
    error = _wrapped(_postgres(asyncpg.NumericValueOutOfRangeError, "out of range"))
    error.orig.sqlstate = "22003"  # type: ignore[union-attr]
    assert value_rejected(error)
    assert not database_unavailable(error)
