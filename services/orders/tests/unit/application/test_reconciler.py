"""The reconciler settles orders left pending by an outage or a crash."""

from datetime import timedelta

from fakes import FakeProductClient
from harness import OrdersApi

from orders.adapters.db.unit_of_work import SqlAlchemyUnitOfWork
from orders.application.reconciler import reconcile_pending
from orders.application.unit_of_work import UnitOfWork
from servicekit.clock import utc_now
from servicekit.db import create_engine
from shop_contracts.reservations import ReservationStatus


async def _place_pending(api: OrdersApi, products: FakeProductClient, count: int) -> list[str]:
    mug = products.add(stock=10)
    products.fail_next["confirm"] = count
    return [(await api.place("alice", [(mug.id, 1)])).json()["id"] for _ in range(count)]


async def _status(api: OrdersApi, order_id: str) -> str:
    response = await api.http.get(f"/api/v1/orders/{order_id}", headers=api.auth("alice"))
    status: str = response.json()["status"]
    return status


async def _reconcile(url: str, products: FakeProductClient) -> tuple[int, int, int]:
    engine = create_engine(url)

    def uow() -> UnitOfWork:
        return SqlAlchemyUnitOfWork(engine)

    try:
        report = await reconcile_pending(uow, products, utc_now, grace=timedelta(0))
    finally:
        await engine.dispose()
    return report.confirmed, report.failed, report.deferred


async def test_reconciler_confirms_pending_orders_and_fails_lapsed_ones(
    api: OrdersApi, products: FakeProductClient, orders_db_url: str
) -> None:
    live, lapsed = await _place_pending(api, products, 2)
    # Reservations are kept in creation order: the second belongs to the second order.
    products.expire(list(products.by_id)[1])

    assert await _reconcile(orders_db_url, products) == (1, 1, 0)

    assert await _status(api, live) == "confirmed"
    assert await _status(api, lapsed) == "failed"
    assert sorted(products.statuses()) == [ReservationStatus.CONFIRMED, ReservationStatus.EXPIRED]


async def test_reconciler_defers_while_products_is_down_and_finishes_later(
    api: OrdersApi, products: FakeProductClient, orders_db_url: str
) -> None:
    [order_id] = await _place_pending(api, products, 1)
    products.down = True

    assert await _reconcile(orders_db_url, products) == (0, 0, 1)
    assert await _status(api, order_id) == "pending"

    products.down = False
    assert await _reconcile(orders_db_url, products) == (1, 0, 0)
    assert await _status(api, order_id) == "confirmed"


async def test_reconciler_leaves_a_cancelled_order_alone(
    api: OrdersApi, products: FakeProductClient, orders_db_url: str
) -> None:
    [order_id] = await _place_pending(api, products, 1)
    await api.http.post(
        f"/api/v1/orders/{order_id}/cancel", json={"reason": ""}, headers=api.auth("alice")
    )

    assert await _reconcile(orders_db_url, products) == (0, 0, 0)
    assert await _status(api, order_id) == "cancelled"
