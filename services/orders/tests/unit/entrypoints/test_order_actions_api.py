"""Cancel, pay and fulfilment over HTTP (SQLite, in-memory product client)."""

import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from asgi_lifespan import LifespanManager
from fakes import FakeProductClient
from harness import OrdersApi, make_settings, running_api

from orders.adapters.payments.fake import FakePayments
from orders.application.commands import CancelOrder, PayOrder, PlaceOrder
from orders.bootstrap import Overrides
from orders.domain.errors import OrderNotFound
from orders.domain.status import OrderStatus
from orders.facade import OrdersFacade
from orders.main import create_app
from shop_contracts.reservations import Line, ReservationStatus


async def _placed(api: OrdersApi, products: FakeProductClient, user: str = "alice") -> str:
    mug = products.add(stock=5, price="10.00")
    response = await api.place(user, [(mug.id, 2)])
    assert response.status_code == 201
    order_id: str = response.json()["id"]
    return order_id


async def _post(api: OrdersApi, path: str, user: str = "alice", **kw: Any) -> Any:
    return await api.http.post(f"/api/v1/orders/{path}", headers=api.auth(user), **kw)


async def test_cancel_releases_stock_and_records_the_reason(
    api: OrdersApi, products: FakeProductClient
) -> None:
    order_id = await _placed(api, products)
    [product_id] = products.stock

    response = await _post(api, f"{order_id}/cancel", json={"reason": "changed my mind"})

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert response.json()["cancel_reason"] == "changed my mind"
    assert products.stock[product_id] == 5
    assert products.statuses() == [ReservationStatus.RELEASED]


async def test_cancel_needs_no_body_its_reason_is_optional(
    api: OrdersApi, products: FakeProductClient
) -> None:
    order_id = await _placed(api, products)

    response = await _post(api, f"{order_id}/cancel")

    assert response.status_code == 200, response.text
    assert (response.json()["status"], response.json()["cancel_reason"]) == ("cancelled", "")


async def test_cancelling_twice_is_409_invalid_status_transition(
    api: OrdersApi, products: FakeProductClient
) -> None:
    order_id = await _placed(api, products)
    await _post(api, f"{order_id}/cancel", json={"reason": ""})

    response = await _post(api, f"{order_id}/cancel", json={"reason": ""})

    assert response.status_code == 409
    assert response.json()["code"] == "invalid_status_transition"


async def test_pay_charges_once_and_cancel_after_payment_refunds(
    api: OrdersApi, products: FakeProductClient, payments: FakePayments
) -> None:
    order_id = await _placed(api, products)

    paid = await _post(api, f"{order_id}/pay")
    cancelled = await _post(api, f"{order_id}/cancel", json={"reason": "late"})

    assert paid.status_code == 200
    assert paid.json()["status"] == "paid"
    [(charged_order, amount)] = payments.charges.values()
    assert (str(charged_order), str(amount.amount)) == (order_id, "20.00")
    assert cancelled.json()["status"] == "cancelled"
    assert list(payments.refunds.values()) == [paid.json()["payment_id"]]


async def test_paying_twice_is_409(api: OrdersApi, products: FakeProductClient) -> None:
    order_id = await _placed(api, products)
    await _post(api, f"{order_id}/pay")

    response = await _post(api, f"{order_id}/pay")

    assert response.status_code == 409
    assert response.json()["code"] == "invalid_status_transition"


async def test_declined_payment_is_402_and_leaves_the_order_confirmed(
    orders_db_url: str, products: FakeProductClient
) -> None:
    async with running_api(
        make_settings(orders_db_url),
        product_client=products,
        payments=FakePayments(decline_above=Decimal("5.00")),
    ) as api:
        order_id = await _placed(api, products)
        response = await _post(api, f"{order_id}/pay")
        order = await api.http.get(f"/api/v1/orders/{order_id}", headers=api.auth("alice"))

    assert response.status_code == 402
    assert response.json()["code"] == "payment_failed"
    assert order.json()["status"] == "confirmed"


async def test_admin_moves_a_paid_order_to_shipped_then_delivered(
    api: OrdersApi, products: FakeProductClient
) -> None:
    order_id = await _placed(api, products)
    await _post(api, f"{order_id}/pay")
    admin = api.auth("staff", "admin")

    shipped = await api.http.patch(
        f"/api/v1/orders/{order_id}/status", json={"status": "shipped"}, headers=admin
    )
    delivered = await api.http.patch(
        f"/api/v1/orders/{order_id}/status", json={"status": "delivered"}, headers=admin
    )

    assert shipped.json()["status"] == "shipped"
    assert delivered.json()["status"] == "delivered"


@pytest.mark.parametrize("target", ["shipped", "delivered", "cancelled", "paid", "pending"])
async def test_illegal_status_changes_are_409(
    api: OrdersApi, products: FakeProductClient, target: str
) -> None:
    order_id = await _placed(api, products)

    response = await api.http.patch(
        f"/api/v1/orders/{order_id}/status",
        json={"status": target},
        headers=api.auth("staff", "admin"),
    )

    assert response.status_code == 409
    assert response.json()["code"] == "invalid_status_transition"


async def test_status_changes_need_the_admin_role(
    api: OrdersApi, products: FakeProductClient
) -> None:
    order_id = await _placed(api, products)

    response = await api.http.patch(
        f"/api/v1/orders/{order_id}/status", json={"status": "shipped"}, headers=api.auth("alice")
    )

    assert response.status_code == 403


async def test_cannot_cancel_or_pay_another_users_order(
    api: OrdersApi, products: FakeProductClient
) -> None:
    order_id = await _placed(api, products, user="alice")

    cancel = await _post(api, f"{order_id}/cancel", user="mallory", json={"reason": ""})
    pay = await _post(api, f"{order_id}/pay", user="mallory")

    assert (cancel.status_code, pay.status_code) == (404, 404)
    assert cancel.json()["code"] == "order_not_found"
    assert products.statuses() == [ReservationStatus.CONFIRMED]


async def test_cancel_with_products_down_is_503_and_changes_nothing(
    api: OrdersApi, products: FakeProductClient
) -> None:
    order_id = await _placed(api, products)
    products.down = True

    response = await _post(api, f"{order_id}/cancel", json={"reason": ""})
    products.down = False
    order = await api.http.get(f"/api/v1/orders/{order_id}", headers=api.auth("alice"))

    assert response.status_code == 503
    assert order.json()["status"] == "confirmed"


async def test_paying_a_just_placed_order_works_while_the_replica_lags(
    orders_db_url: str, migrated_template: Path, tmp_path: Path, products: FakeProductClient
) -> None:
    # A migrated but empty read database: a replica that has not caught up yet.
    replica = tmp_path / "replica.db"
    shutil.copy(migrated_template, replica)
    settings = make_settings(orders_db_url, read_database_url=f"sqlite+aiosqlite:///{replica}")

    async with running_api(settings, product_client=products) as api:
        order_id = await _placed(api, products)
        seen = await api.http.get(f"/api/v1/orders/{order_id}", headers=api.auth("alice"))
        paid = await _post(api, f"{order_id}/pay")
        stolen = await _post(api, f"{order_id}/cancel", user="mallory", json={"reason": ""})

    assert seen.status_code == 404  # the read side really lags
    assert (paid.status_code, paid.json()["status"]) == (200, "paid")
    assert stolen.status_code == 404


async def test_commands_check_ownership_without_the_http_layer(
    orders_db_url: str, products: FakeProductClient
) -> None:
    app = create_app(make_settings(orders_db_url), Overrides(product_client=products))
    async with LifespanManager(app):
        orders: OrdersFacade = app.state.orders
        mug = products.add(stock=5, price="10.00")
        placed = await orders.place_order(PlaceOrder("alice", None, "k1", (Line(mug.id, 1),)))
        order_id = placed.order.id

        with pytest.raises(OrderNotFound):
            await orders.pay_order(PayOrder(order_id, "mallory"))
        with pytest.raises(OrderNotFound):
            await orders.cancel_order(CancelOrder(order_id, "mallory", "mine now"))
        paid = await orders.pay_order(PayOrder(order_id, "alice"))

    assert paid.status is OrderStatus.PAID
    assert products.statuses() == [ReservationStatus.CONFIRMED]
