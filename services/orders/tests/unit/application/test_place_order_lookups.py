"""A placement reads its idempotency key once; again only after a concurrent twin may have saved."""

from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from fakes import FakeProductClient
from harness import OrdersApi, make_settings, running_api

from orders.adapters.db.repository import SqlAlchemyOrderRepository
from orders.adapters.db.unit_of_work import SqlAlchemyUnitOfWork
from orders.domain.order import Order, OrderItem, request_hash, reservation_key
from servicekit.db import create_engine
from shop_contracts.money import Money
from shop_contracts.reservations import Line, Reservation, ReservationLineRequest


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The idempotency keys looked up, one entry per lookup."""
    seen: list[str] = []
    original = SqlAlchemyOrderRepository.get_by_idempotency_key

    async def counted(self: SqlAlchemyOrderRepository, user_id: str, key: str) -> Order | None:
        seen.append(key)
        return await original(self, user_id, key)

    monkeypatch.setattr(SqlAlchemyOrderRepository, "get_by_idempotency_key", counted)
    return seen


async def test_a_new_order_and_its_replay_each_look_the_key_up_once(
    api: OrdersApi, products: FakeProductClient, lookups: list[str]
) -> None:
    mug = products.add(stock=3)

    placed = await api.place("alice", [(mug.id, 1)], key="k")
    assert (placed.status_code, lookups) == (201, ["k"])
    replay = await api.place("alice", [(mug.id, 1)], key="k")

    assert (replay.status_code, lookups) == (200, ["k", "k"])
    assert products.calls.count("reserve") == 1  # the replay answered from orders alone


async def test_a_retry_on_a_retired_key_looks_it_up_once(
    api: OrdersApi, products: FakeProductClient, lookups: list[str]
) -> None:
    mug = products.add(stock=3)
    await products.release_by_key(reservation_key("alice", "k"))  # retired before any hold

    retry = await api.place("alice", [(mug.id, 1)], key="k")

    assert retry.status_code == 409
    assert retry.json()["code"] == "reservation_released"
    assert lookups == ["k"]


async def test_a_dead_hold_is_read_again_for_a_twin_saved_since_the_lookup(
    orders_db_url: str,
    products: FakeProductClient,
    lookups: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mug = products.add(stock=3)
    attempts = 0

    async def fail_once(reservation: Reservation) -> None:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise RuntimeError("first attempt dies")  # its hold is released, lines kept

    engine = create_engine(orders_db_url)
    twin = Order.place(
        user_id="alice",
        customer_email=None,
        idempotency_key="k",
        request_hash=request_hash([Line(mug.id, 1)]),
        reservation_id=uuid4(),
        items=[OrderItem(mug.id, mug.name, 1, Money(mug.price, mug.currency))],
        now=datetime.now(UTC),
    )
    original_reserve = products.reserve

    async def twin_saves_meanwhile(
        key: str, lines: Sequence[ReservationLineRequest]
    ) -> Reservation:
        reservation = await original_reserve(key, lines)
        async with SqlAlchemyUnitOfWork(engine) as work:
            await work.orders.save(twin)
            await work.commit()
        return reservation

    try:
        async with running_api(
            make_settings(orders_db_url), product_client=products, after_reserve=fail_once
        ) as api:
            await api.place("alice", [(mug.id, 1)], key="k")
            lookups.clear()
            monkeypatch.setattr(products, "reserve", twin_saves_meanwhile)
            retry = await api.place("alice", [(mug.id, 1)], key="k")
    finally:
        await engine.dispose()

    # Without the second read the answer would be 409 reservation_released, though
    # the key now has an order: one key, one answer (ADR 0019).
    assert retry.status_code == 200
    assert retry.json()["id"] == str(twin.id)
    assert lookups == ["k", "k"]
