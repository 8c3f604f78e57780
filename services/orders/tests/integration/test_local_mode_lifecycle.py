"""Local mode on PostgreSQL: compensation, cancel, transitions, reconciliation."""

import asyncio
from datetime import timedelta
from uuid import UUID

import pytest
from harness import make_settings, running_api
from sqlalchemy import text

from orders.adapters.db.repository import SqlAlchemyOrderRepository
from orders.adapters.db.unit_of_work import SqlAlchemyUnitOfWork
from orders.adapters.product_clients.local import LocalProductClient
from orders.application.reconciler import reconcile_pending
from orders.application.unit_of_work import UnitOfWork
from orders.domain.order import Order
from products.facade import ProductsFacade
from products.testing import Catalogue
from servicekit.clock import utc_now
from servicekit.db import create_engine
from shop_contracts.errors import ProductsUnavailable
from shop_contracts.reservations import Reservation

from .conftest import Databases, local_mode
from .events_support import scalar

pytestmark = pytest.mark.postgres


async def _reservation_statuses(databases: Databases, product_id: UUID) -> list[str]:
    engine = create_engine(databases.products, pool_size=1)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT r.status FROM reservations r JOIN reservation_lines l"
                    " ON l.reservation_id = r.id WHERE l.product_id = :pid"
                ),
                {"pid": product_id},
            )
            return [str(status) for (status,) in rows]
    finally:
        await engine.dispose()


async def test_repository_failure_after_reserve_releases_stock_and_stores_no_order(
    migrated: Databases, catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch
) -> None:
    product = await catalogue.add(stock=4)

    async def broken_save(self: SqlAlchemyOrderRepository, order: Order) -> None:
        raise RuntimeError("database rejected the write")

    monkeypatch.setattr(SqlAlchemyOrderRepository, "save", broken_save)
    async with running_api(make_settings(migrated.orders, **local_mode(migrated))) as api:
        response = await api.place("unlucky", [(product.id, 3)])

    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
    assert await catalogue.stock(product) == 4
    assert await _reservation_statuses(migrated, product.id) == ["released"]
    assert (
        await scalar(migrated.orders, "SELECT count(*) FROM orders WHERE user_id = 'unlucky'") == 0
    )


async def test_cancel_releases_stock_and_illegal_transitions_are_409(
    migrated: Databases, catalogue: Catalogue
) -> None:
    product = await catalogue.add(stock=5)

    async with running_api(make_settings(migrated.orders, **local_mode(migrated))) as api:
        order = (await api.place("canceller", [(product.id, 2)])).json()
        held_stock = await catalogue.stock(product)
        cancel = await api.http.post(
            f"/api/v1/orders/{order['id']}/cancel",
            json={"reason": "wrong size"},
            headers=api.auth("canceller"),
        )
        pay = await api.http.post(
            f"/api/v1/orders/{order['id']}/pay", headers=api.auth("canceller")
        )
        ship = await api.http.patch(
            f"/api/v1/orders/{order['id']}/status",
            json={"status": "shipped"},
            headers=api.auth("staff", "admin"),
        )

    assert held_stock == 3
    assert cancel.json()["status"] == "cancelled"
    assert await catalogue.stock(product) == 5
    assert await _reservation_statuses(migrated, product.id) == ["released"]
    assert (pay.status_code, ship.status_code) == (409, 409)
    assert {pay.json()["code"], ship.json()["code"]} == {"invalid_status_transition"}


async def test_reconciler_confirms_or_fails_orders_left_pending(
    migrated: Databases, catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch
) -> None:
    product = await catalogue.add(stock=5)
    settings = make_settings(
        migrated.orders, **local_mode(migrated, products_reservation_ttl_seconds=1)
    )

    async def unreachable(self: LocalProductClient, reservation_id: UUID) -> Reservation:
        raise ProductsUnavailable("products went away")

    with monkeypatch.context() as patch:
        patch.setattr(LocalProductClient, "confirm", unreachable)
        async with running_api(settings) as api:
            survivor = (await api.place("recon", [(product.id, 1)])).json()
            doomed = (await api.place("recon", [(product.id, 2)])).json()
    assert (survivor["status"], doomed["status"]) == ("pending", "pending")
    assert await catalogue.stock(product) == 2

    products = ProductsFacade.from_database_url(
        migrated.products, reservation_ttl_seconds=1, sweep_interval_seconds=60, pool_size=2
    )
    engine = create_engine(migrated.orders, pool_size=2)

    def uow() -> UnitOfWork:
        return SqlAlchemyUnitOfWork(engine)

    try:
        client = products
        # The survivor's confirm reached products but the process died before recording it.
        await client.confirm(UUID(await _reservation_of(migrated, survivor["id"])))
        await asyncio.sleep(1.1)
        assert await products.expire_lapsed() >= 1  # the doomed hold lapses
        report = await reconcile_pending(uow, client, utc_now, grace=timedelta(0))
    finally:
        await engine.dispose()
        await products.aclose()

    assert (report.confirmed, report.failed) == (1, 1)
    statuses = await scalar(
        migrated.orders,
        "SELECT string_agg(status, ',' ORDER BY created_at) FROM orders WHERE user_id = 'recon'",
    )
    assert statuses == "confirmed,failed"
    assert await catalogue.stock(product) == 4


async def _reservation_of(databases: Databases, order_id: str) -> str:
    return str(
        await scalar(
            databases.orders, "SELECT reservation_id FROM orders WHERE id = :id", id=UUID(order_id)
        )
    )


async def test_readiness_pings_the_products_facade(migrated: Databases) -> None:
    async with running_api(make_settings(migrated.orders, **local_mode(migrated))) as api:
        response = await api.http.get("/health/ready")

    assert response.status_code == 200
    checks = response.json()["checks"]
    assert checks["products"]["status"] == "up"
    assert checks["database"]["backend"] == "postgresql"
