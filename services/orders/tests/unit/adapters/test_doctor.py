"""``orders doctor`` names stored orders outside today's limits or that a read cannot serve."""

from pathlib import Path
from uuid import UUID

import pytest
from fakes import FakeProductClient
from harness import OrdersApi
from sqlalchemy import update
from sqlalchemy.ext.asyncio import create_async_engine

from orders.adapters.db.doctor import examine
from orders.adapters.db.tables import order_items, orders
from orders.entrypoints.cli import main
from shop_contracts.limits import MAX_PRICE


async def test_doctor_names_each_bad_order_and_passes_the_good_ones(
    api: OrdersApi, products: FakeProductClient, orders_db_url: str
) -> None:
    mug = products.add(stock=100, price="2.00")
    good, too_big, unknown_status = [
        UUID((await api.place("alice", [(mug.id, 3)])).json()["id"]) for _ in range(3)
    ]
    engine = create_async_engine(orders_db_url)
    try:
        async with engine.begin() as connection:
            big_cents = int(MAX_PRICE * 100) * 3
            await connection.execute(
                update(orders).where(orders.c.id == too_big).values(total_minor=big_cents)
            )
            await connection.execute(
                update(order_items)
                .where(order_items.c.order_id == too_big)
                .values(unit_price_minor=int(MAX_PRICE * 100))
            )
            await connection.execute(
                update(orders).where(orders.c.id == unknown_status).values(status="lost")
            )
        async with engine.connect() as connection:
            findings = await examine(connection)
    finally:
        await engine.dispose()

    by_order = {(finding.order_id, finding.problem.split(" (")[0]) for finding in findings}
    assert by_order == {
        (too_big, f"total passes the order total limit of {MAX_PRICE}"),
        (unknown_status, "a read cannot serve it"),
    }
    assert good not in {finding.order_id for finding in findings}
    assert all(finding.user_id == "alice" for finding in findings)


def test_doctor_command_on_a_clean_database_exits_0(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("APP_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'orders.db'}")
    monkeypatch.setenv("APP_PRODUCTS_CLIENT", "http")
    # As a developer runs it: without APP_ENVIRONMENT a process is production.
    monkeypatch.setenv("APP_ENVIRONMENT", "development")
    assert main(["migrate"]) == 0

    assert main(["doctor"]) == 0
    assert capsys.readouterr().out.strip().endswith("0 finding(s)")
