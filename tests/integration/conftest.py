"""Fresh databases per session, migrated and seeded through the services' own CLIs.

Each test starts the processes it needs through ``stack`` (so it can pick the
product client mode, short TTLs or a fault), and every process it started is
stopped afterwards; when the test fails, the process logs are printed. The
databases outlive a test, the run-time flags do not: each test starts with
the flags its processes' environment gives.
"""

import asyncio
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from servicekit.devidp import JwksServer
from servicekit.testing import fresh_postgres_database
from tests.integration.stack import Databases, Shop, Stack
from tests.support.processes import run_cli

_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the item, so fixtures can tell a failed test."""
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


@pytest.fixture(scope="session")
def databases() -> Iterator[Databases]:
    """Both databases, created empty, migrated and seeded by the CLIs; dropped afterwards."""
    with (
        fresh_postgres_database("it_products") as products_url,
        fresh_postgres_database("it_orders") as orders_url,
    ):
        base = {"APP_ENVIRONMENT": "testing", "APP_LOG_JSON": "true"}
        products_env = {**base, "APP_DATABASE_URL": products_url}
        run_cli("products.entrypoints.cli", "migrate", env=products_env)
        run_cli("products.entrypoints.cli", "seed", env=products_env)
        run_cli(
            "orders.entrypoints.cli",
            "migrate",
            env={**base, "APP_DATABASE_URL": orders_url, "APP_PRODUCTS_CLIENT": "http"},
        )
        yield Databases(products=products_url, orders=orders_url)


@pytest.fixture
def stack(databases: Databases, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Stack]:
    """Processes for one test; logs under the test's tmp dir, printed if the test failed."""
    # A flag an earlier test (or its canary fallback) stored would override this
    # test's APP_PRODUCTS_CLIENT / APP_CANARY_SHARE: a canary at 100 % would serve
    # everyone locally.
    asyncio.run(_forget_run_time_flags(databases.orders))
    identity_provider = JwksServer().start()
    running = Stack(databases, log_dir=tmp_path / "logs", identity_provider=identity_provider)
    try:
        yield running
    finally:
        running.stop_all()
        identity_provider.stop()
        reports = request.node.stash.get(_REPORTS, {})
        if any(report.failed for report in reports.values()):
            print(running.logs())


async def _forget_run_time_flags(orders_url: str) -> None:
    engine = create_async_engine(orders_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("DELETE FROM feature_flags"))
    finally:
        await engine.dispose()


@pytest.fixture
def shop(stack: Stack) -> Iterator[Shop]:
    """A client for whatever the test started."""
    client = stack.client()
    try:
        yield client
    finally:
        client.close()
