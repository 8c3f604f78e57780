"""Lapsed holds are expired and their stock returned exactly once, even by rival sweepers."""

import asyncio
from collections.abc import AsyncIterator
from uuid import uuid4

import pytest

from products.facade import ProductsFacade, upgrade_products_database
from products.testing import Catalogue, FrozenClock
from shop_contracts.errors import ReservationExpired
from shop_contracts.reservations import ReservationLineRequest, ReservationStatus


def _line(product_id: object, quantity: int) -> ReservationLineRequest:
    return ReservationLineRequest.model_validate({"product_id": product_id, "quantity": quantity})


def _facade(url: str, clock: FrozenClock) -> ProductsFacade:
    return ProductsFacade.from_database_url(
        url, reservation_ttl_seconds=60, sweep_interval_seconds=60, pool_size=5, clock=clock
    )


@pytest.fixture
async def rivals(
    isolated_database_url: str, clock: FrozenClock
) -> AsyncIterator[tuple[ProductsFacade, ProductsFacade]]:
    """Two independent processes' worth of machinery over one database."""
    await upgrade_products_database(isolated_database_url)
    first, second = _facade(isolated_database_url, clock), _facade(isolated_database_url, clock)
    yield first, second
    await first.aclose()
    await second.aclose()


async def test_sweep_expires_only_lapsed_holds_and_returns_their_stock(
    rivals: tuple[ProductsFacade, ProductsFacade], clock: FrozenClock
) -> None:
    facade, _ = rivals
    catalogue = Catalogue(facade)
    product = await catalogue.add(stock=10)
    old = await facade.reserve("old", [_line(product.id, 3)])
    confirmed = await facade.reserve("confirmed", [_line(product.id, 2)])
    await facade.confirm(confirmed.id)
    clock.advance(30)
    young = await facade.reserve("young", [_line(product.id, 1)])
    clock.advance(31)

    expired = await facade.expire_lapsed()

    assert expired == 1
    statuses = [(await facade.get_reservation(r.id)).status for r in (old, confirmed, young)]
    assert statuses == [
        ReservationStatus.EXPIRED,
        ReservationStatus.CONFIRMED,
        ReservationStatus.HELD,
    ]
    assert await catalogue.stock(product) == 10 - 2 - 1
    with pytest.raises(ReservationExpired):
        await facade.confirm(old.id)


async def test_two_sweepers_at_once_return_stock_exactly_once(
    rivals: tuple[ProductsFacade, ProductsFacade], clock: FrozenClock
) -> None:
    first, second = rivals
    catalogue, facade = Catalogue(first), first
    product = await catalogue.add(stock=100)
    for _ in range(30):
        await facade.reserve(uuid4().hex, [_line(product.id, 2)])
    clock.advance(61)

    counts = await asyncio.gather(
        first.expire_lapsed(),
        second.expire_lapsed(),
        first.expire_lapsed(),
        second.expire_lapsed(),
    )

    assert sum(counts) == 30
    assert await catalogue.stock(product) == 100
