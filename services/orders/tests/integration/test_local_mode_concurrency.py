"""Local mode on PostgreSQL over HTTP: stock is exact and keys are idempotent under load."""

import asyncio
from collections import Counter
from uuid import UUID, uuid4

import pytest
from harness import make_settings, running_api
from sqlalchemy import text

from orders.domain.order import reservation_key
from products.testing import Catalogue
from servicekit.db import create_engine

from .conftest import Databases, local_mode

pytestmark = pytest.mark.postgres


async def _fetch(url: str, sql: str, **params: object) -> list[tuple[object, ...]]:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            return [tuple(row) for row in (await conn.execute(text(sql), params)).all()]
    finally:
        await engine.dispose()


async def _reservations_for(databases: Databases, product_id: UUID) -> dict[UUID, str]:
    rows = await _fetch(
        databases.products,
        "SELECT r.id, r.status FROM reservations r"
        " JOIN reservation_lines l ON l.reservation_id = r.id WHERE l.product_id = :pid",
        pid=product_id,
    )
    return {UUID(str(rid)): str(status) for rid, status in rows}


async def _orders_for(databases: Databases, product_id: UUID) -> dict[UUID, str]:
    rows = await _fetch(
        databases.orders,
        "SELECT o.reservation_id, o.status FROM orders o"
        " JOIN order_items i ON i.order_id = o.id WHERE i.product_id = :pid",
        pid=product_id,
    )
    return {UUID(str(rid)): str(status) for rid, status in rows}


async def test_200_concurrent_orders_for_50_units_confirm_exactly_50(
    migrated: Databases, catalogue: Catalogue
) -> None:
    product = await catalogue.add(stock=50, price="5.00")
    settings = make_settings(migrated.orders, **local_mode(migrated))

    async with running_api(settings) as api:
        responses = await asyncio.gather(
            *(api.place(f"buyer-{i}", [(product.id, 1)]) for i in range(200))
        )

    outcomes = Counter(r.status_code for r in responses)
    assert outcomes == {201: 50, 409: 150}
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"insufficient_stock"}
    assert {r.json()["status"] for r in responses if r.status_code == 201} == {"confirmed"}
    assert await catalogue.stock(product) == 0
    orders = await _orders_for(migrated, product.id)
    reservations = await _reservations_for(migrated, product.id)
    confirmed = {rid for rid, status in reservations.items() if status == "confirmed"}
    assert set(orders.values()) == {"confirmed"}
    # No order without a confirmed reservation, no confirmed reservation without an order.
    assert set(orders) == confirmed
    assert len(confirmed) == 50


async def test_20_concurrent_posts_with_one_key_make_one_order_and_one_reservation(
    migrated: Databases, catalogue: Catalogue
) -> None:
    product = await catalogue.add(stock=10)
    settings = make_settings(migrated.orders, **local_mode(migrated))
    key = uuid4().hex

    async with running_api(settings) as api:
        responses = await asyncio.gather(
            *(api.place("impatient", [(product.id, 2)], key=key) for _ in range(20))
        )

    assert sorted(Counter(r.status_code for r in responses).items()) == [(200, 19), (201, 1)]
    assert len({r.json()["id"] for r in responses}) == 1
    assert await catalogue.stock(product) == 8
    reservations = await _reservations_for(migrated, product.id)
    assert list(reservations.values()) == ["confirmed"]
    keys = await _fetch(
        migrated.products,
        "SELECT count(*) FROM reservations WHERE reservation_key = :key",
        key=reservation_key("impatient", key),
    )
    assert keys == [(1,)]
    assert len(await _orders_for(migrated, product.id)) == 1
