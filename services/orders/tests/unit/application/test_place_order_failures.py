"""Try/confirm/cancel: what happens when a step after the reservation fails."""

from collections.abc import Sequence
from uuid import UUID

import pytest
from fakes import FakeProductClient
from harness import OrdersApi, make_settings, running_api
from sqlalchemy import Table, func, select
from sqlalchemy.exc import OperationalError

from orders.adapters.db.repository import SqlAlchemyOrderRepository
from orders.adapters.db.tables import orders, outbox
from orders.domain.order import Order
from orders.domain.status import OrderStatus
from servicekit.db import create_engine
from shop_contracts.reservations import Reservation, ReservationLineRequest, ReservationStatus


async def _count(url: str, table: Table) -> int:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())
    finally:
        await engine.dispose()


async def test_repository_failure_after_reserve_releases_the_hold_and_saves_nothing(
    api: OrdersApi,
    products: FakeProductClient,
    orders_db_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mug = products.add(stock=3)

    async def broken_save(self: SqlAlchemyOrderRepository, order: Order) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(SqlAlchemyOrderRepository, "save", broken_save)
    response = await api.place("alice", [(mug.id, 2)])

    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert products.statuses() == [ReservationStatus.RELEASED]
    assert products.stock[mug.id] == 3
    assert await _count(orders_db_url, orders) == 0
    assert await _count(orders_db_url, outbox) == 0


async def test_injected_fault_between_reserve_and_commit_is_compensated(
    orders_db_url: str, products: FakeProductClient
) -> None:
    mug = products.add(stock=3)
    seen: list[Reservation] = []

    async def crash(reservation: Reservation) -> None:
        seen.append(reservation)
        raise RuntimeError("killed between reserve and commit")

    async with running_api(
        make_settings(orders_db_url), product_client=products, after_reserve=crash
    ) as api:
        response = await api.place("alice", [(mug.id, 1)])

    assert response.status_code == 500
    assert [r.status for r in seen] == [ReservationStatus.HELD]
    assert products.statuses() == [ReservationStatus.RELEASED]
    assert await _count(orders_db_url, orders) == 0


async def test_fault_injection_setting_raises_after_reserve(
    orders_db_url: str, products: FakeProductClient
) -> None:
    mug = products.add(stock=3)
    settings = make_settings(orders_db_url, fault_injection="raise_after_reserve")

    async with running_api(settings, product_client=products) as api:
        response = await api.place("alice", [(mug.id, 1)])

    assert response.status_code == 500
    assert products.stock[mug.id] == 3


async def test_retrying_a_key_whose_hold_was_released_asks_for_a_new_key(
    orders_db_url: str, products: FakeProductClient
) -> None:
    mug = products.add(stock=3)
    attempts = 0

    async def fail_once(reservation: Reservation) -> None:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise RuntimeError("first attempt dies")

    async with running_api(
        make_settings(orders_db_url), product_client=products, after_reserve=fail_once
    ) as api:
        await api.place("alice", [(mug.id, 1)], key="k")
        retry = await api.place("alice", [(mug.id, 1)], key="k")
        fresh = await api.place("alice", [(mug.id, 1)], key="k2")

    assert retry.status_code == 409
    assert retry.json()["code"] == "reservation_released"
    assert fresh.status_code == 201


async def test_products_down_at_confirm_leaves_the_order_pending_for_the_reconciler(
    api: OrdersApi, products: FakeProductClient
) -> None:
    mug = products.add(stock=3)
    products.fail_next["confirm"] = 1

    response = await api.place("alice", [(mug.id, 1)])

    assert response.status_code == 201
    assert response.json()["status"] == "pending"
    assert products.statuses() == [ReservationStatus.HELD]


async def test_reservation_lapsed_before_confirm_answers_the_failed_order_every_time(
    api: OrdersApi, products: FakeProductClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    mug = products.add(stock=3)
    original_reserve = products.reserve

    async def reserve_then_lapse(key: str, lines: Sequence[ReservationLineRequest]) -> Reservation:
        reservation = await original_reserve(key, lines)
        products.expire(reservation.id)
        return reservation

    with monkeypatch.context() as patch:
        patch.setattr(products, "reserve", reserve_then_lapse)
        response = await api.place("alice", [(mug.id, 1)], key="k")
    replay = await api.place("alice", [(mug.id, 1)], key="k")

    # The order was saved before confirm refused the hold: the answer is that order,
    # the same one every replay of the key gets (ADR 0019).
    assert response.status_code == 201
    assert response.json()["status"] == "failed"
    assert replay.status_code == 200
    assert replay.json() == response.json()
    assert products.stock[mug.id] == 3


async def test_reserve_that_may_have_held_releases_by_key_at_once(
    api: OrdersApi, products: FakeProductClient, orders_db_url: str
) -> None:
    mug = products.add(stock=3)
    products.lose_answer["reserve"] = 1

    response = await api.place("alice", [(mug.id, 2)], key="lost-answer")

    assert response.status_code == 503
    assert response.json()["code"] == "products_unavailable"
    assert products.calls[-1] == "release_by_key"
    assert products.statuses() == [ReservationStatus.RELEASED]
    assert products.stock[mug.id] == 3
    assert await _count(orders_db_url, orders) == 0
    # The key is retired: a retry with it holds nothing and says so.
    retry = await api.place("alice", [(mug.id, 2)], key="lost-answer")
    assert retry.status_code == 409
    assert retry.json()["code"] == "reservation_released"
    assert products.stock[mug.id] == 3


async def test_reserve_that_surely_held_nothing_leaves_the_key_usable(
    api: OrdersApi, products: FakeProductClient
) -> None:
    mug = products.add(stock=3)
    products.fail_next["reserve"] = 1

    refused = await api.place("alice", [(mug.id, 2)], key="never-sent")
    retry = await api.place("alice", [(mug.id, 2)], key="never-sent")

    assert refused.status_code == 503
    assert "release_by_key" not in products.calls
    assert retry.status_code == 201
    assert products.stock[mug.id] == 1


def _connection_lost() -> Exception:
    return OperationalError("UPDATE orders", {}, ConnectionResetError(104, "reset by peer"))


async def test_settle_failing_after_confirm_answers_the_order_pending(
    api: OrdersApi, products: FakeProductClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    mug = products.add(stock=3)
    original_save = SqlAlchemyOrderRepository.save

    async def settle_fails(self: SqlAlchemyOrderRepository, order: Order) -> None:
        if order.status is OrderStatus.CONFIRMED:
            raise _connection_lost()
        await original_save(self, order)

    with monkeypatch.context() as patch:
        patch.setattr(SqlAlchemyOrderRepository, "save", settle_fails)
        response = await api.place("alice", [(mug.id, 1)], key="k")
    replay = await api.place("alice", [(mug.id, 1)], key="k")

    # Saved and confirmed at products: never a 500, the order is the answer.
    assert response.status_code == 201
    assert response.json()["status"] == "pending"
    assert products.statuses() == [ReservationStatus.CONFIRMED]
    assert replay.status_code == 200
    assert replay.json()["id"] == response.json()["id"]


async def test_confirm_failing_unexpectedly_answers_the_order_pending(
    api: OrdersApi, products: FakeProductClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    mug = products.add(stock=3)

    async def confirm_breaks(reservation_id: UUID) -> Reservation:
        raise _connection_lost()  # products' database, under LocalProductClient

    monkeypatch.setattr(products, "confirm", confirm_breaks)
    response = await api.place("alice", [(mug.id, 1)])

    assert response.status_code == 201
    assert response.json()["status"] == "pending"
    assert products.statuses() == [ReservationStatus.HELD]


async def test_settle_failing_after_a_refused_confirm_answers_the_order_pending(
    api: OrdersApi, products: FakeProductClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    mug = products.add(stock=3)
    original_reserve = products.reserve

    async def reserve_then_lapse(key: str, lines: Sequence[ReservationLineRequest]) -> Reservation:
        reservation = await original_reserve(key, lines)
        products.expire(reservation.id)
        return reservation

    async def settle_fails(*args: object, **kwargs: object) -> Order:
        raise _connection_lost()

    monkeypatch.setattr(products, "reserve", reserve_then_lapse)
    monkeypatch.setattr("orders.application.place_order.settle_pending", settle_fails)
    response = await api.place("alice", [(mug.id, 1)])

    assert response.status_code == 201
    assert response.json()["status"] == "pending"


async def test_orders_database_down_is_503_database_unavailable(
    api: OrdersApi, products: FakeProductClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    mug = products.add(stock=3)

    async def refused(*args: object, **kwargs: object) -> None:
        raise ConnectionRefusedError(111, "Connect call failed")

    monkeypatch.setattr(SqlAlchemyOrderRepository, "get_by_idempotency_key", refused)
    placed = await api.place("alice", [(mug.id, 1)], key="k")

    assert placed.status_code == 503
    assert placed.headers["retry-after"] == "1"
    assert placed.json()["code"] == "database_unavailable"
    assert products.calls == []  # nothing was reserved
