"""Database failures become the errors callers can act on."""

from types import TracebackType

import pytest
from sqlalchemy import exc as sa_exc

from products.adapters.db.unit_of_work import SqlAlchemyUnitOfWork
from products.domain.errors import InvalidInput
from shop_contracts.errors import ProductsUnavailable


class _DriverError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"driver error {sqlstate}")
        self.sqlstate = sqlstate


class _Connection:
    closed = False

    async def close(self) -> None:
        self.closed = True


class _Dialect:
    name = "sqlite"


class _Engine:
    dialect = _Dialect()

    def get_execution_options(self) -> dict[str, object]:
        return {}

    def __init__(self, refuse: BaseException | None = None) -> None:
        self.connection = _Connection()
        self._refuse = refuse

    async def connect(self) -> _Connection:
        if self._refuse is not None:
            raise self._refuse
        return self.connection


def _dbapi_error(sqlstate: str) -> sa_exc.DBAPIError:
    return sa_exc.DBAPIError("SELECT 1", None, _DriverError(sqlstate))


async def _exit_with(error: BaseException) -> _Connection:
    engine = _Engine()
    uow = SqlAlchemyUnitOfWork(engine)  # type: ignore[arg-type]
    await uow.__aenter__()
    tb: TracebackType | None = None
    await uow.__aexit__(type(error), error, tb)
    return engine.connection


@pytest.mark.parametrize(
    "error",
    [
        _dbapi_error("53300"),  # too many clients
        _dbapi_error("08006"),  # connection failure
        _dbapi_error("57P01"),  # admin shutdown
        _dbapi_error("40P01"),  # deadlock detected
        sa_exc.OperationalError("SELECT 1", None, _DriverError("HY000")),
        sa_exc.TimeoutError("pool exhausted"),
        ConnectionRefusedError(),
    ],
)
async def test_outages_become_products_unavailable(error: BaseException) -> None:
    with pytest.raises(ProductsUnavailable):
        await _exit_with(error)


@pytest.mark.parametrize(
    "error",
    [_dbapi_error("22021"), sa_exc.DataError("INSERT", None, _DriverError("22001"))],
)
async def test_values_the_database_rejects_become_invalid_input(error: BaseException) -> None:
    with pytest.raises(InvalidInput):
        await _exit_with(error)


@pytest.mark.parametrize(
    "error", [_dbapi_error("23505"), sa_exc.IntegrityError("INSERT", None, _DriverError("23514"))]
)
async def test_other_errors_pass_through_untouched(error: BaseException) -> None:
    # __aexit__ raising nothing means Python re-raises the original error as it was.
    connection = await _exit_with(error)

    assert connection.closed


async def test_a_refused_connection_is_products_unavailable() -> None:
    uow = SqlAlchemyUnitOfWork(_Engine(refuse=ConnectionRefusedError()))  # type: ignore[arg-type]

    with pytest.raises(ProductsUnavailable):
        await uow.__aenter__()
