"""Stock can never be oversold or double-held, however many callers race (PostgreSQL)."""

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable
from uuid import uuid4

import pytest

from products.facade import ProductsFacade, upgrade_products_database
from products.testing import Catalogue
from servicekit.testing import fresh_postgres_database
from shop_contracts.errors import InsufficientStock, ReservationReleased
from shop_contracts.reservations import Reservation, ReservationLineRequest, ReservationStatus

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
async def postgres_facade() -> AsyncIterator[ProductsFacade]:
    """A facade over its own PostgreSQL database with a pool wide enough to really race."""
    with fresh_postgres_database("products") as url:
        await upgrade_products_database(url)
        facade = ProductsFacade.from_database_url(
            url,
            reservation_ttl_seconds=900,
            sweep_interval_seconds=60,
            # 20 connections race hard enough while leaving room on a shared server.
            pool_size=20,
            max_overflow=0,
        )
        yield facade
        await facade.aclose()


def _line(product_id: object, quantity: int) -> ReservationLineRequest:
    return ReservationLineRequest.model_validate({"product_id": product_id, "quantity": quantity})


async def _outcome(call: Awaitable[Reservation]) -> str:
    try:
        await call
    except InsufficientStock:
        return "insufficient"
    return "held"


async def test_200_single_unit_reservations_against_stock_50_hold_exactly_50(
    postgres_facade: ProductsFacade,
) -> None:
    catalogue = Catalogue(postgres_facade)
    facade = postgres_facade
    product = await catalogue.add(stock=50)

    outcomes = await asyncio.gather(
        *(
            _outcome(facade.reserve(f"race-{uuid4().hex}", [_line(product.id, 1)]))
            for _ in range(200)
        )
    )

    assert Counter(outcomes) == {"held": 50, "insufficient": 150}
    assert await catalogue.stock(product) == 0


async def test_racing_multi_line_reservations_hold_all_lines_or_none(
    postgres_facade: ProductsFacade,
) -> None:
    catalogue = Catalogue(postgres_facade)
    facade = postgres_facade
    plenty = await catalogue.add(stock=1_000)
    scarce = await catalogue.add(stock=10)

    outcomes = await asyncio.gather(
        *(
            _outcome(
                facade.reserve(f"multi-{uuid4().hex}", [_line(plenty.id, 3), _line(scarce.id, 1)])
            )
            for _ in range(40)
        )
    )

    assert Counter(outcomes) == {"held": 10, "insufficient": 30}
    # Every failed request returned its "plenty" units: only the 10 winners hold any.
    assert await catalogue.stock(plenty) == 1_000 - 10 * 3
    assert await catalogue.stock(scarce) == 0


async def test_20_concurrent_reserves_with_one_key_make_one_reservation_and_one_hold(
    postgres_facade: ProductsFacade,
) -> None:
    catalogue = Catalogue(postgres_facade)
    facade = postgres_facade
    product = await catalogue.add(stock=100)
    key = f"same-{uuid4().hex}"

    reservations = await asyncio.gather(
        *(facade.reserve(key, [_line(product.id, 2)]) for _ in range(20))
    )

    assert {r.id for r in reservations} == {reservations[0].id}
    assert all(r.status is ReservationStatus.HELD for r in reservations)
    assert await catalogue.stock(product) == 98


async def test_concurrent_confirms_and_releases_return_stock_exactly_once(
    postgres_facade: ProductsFacade,
) -> None:
    catalogue = Catalogue(postgres_facade)
    facade = postgres_facade
    product = await catalogue.add(stock=10)
    reservation = await facade.reserve(f"cr-{uuid4().hex}", [_line(product.id, 4)])

    results = await asyncio.gather(
        *(facade.release(reservation.id) for _ in range(10)),
        *(facade.confirm(reservation.id) for _ in range(10)),
        return_exceptions=True,
    )

    # A confirm that lost to a release is refused; nothing else may fail.
    errors = [r for r in results if isinstance(r, BaseException)]
    assert all(isinstance(e, ReservationReleased) for e in errors)
    assert (await facade.get_reservation(reservation.id)).status is ReservationStatus.RELEASED
    assert await catalogue.stock(product) == 10


async def test_releases_by_key_racing_their_reserves_fail_none_and_leave_nothing_held(
    postgres_facade: ProductsFacade,
) -> None:
    # Both lock key → reservation → products in product-id order, so no pair
    # deadlocks (PostgreSQL's "deadlock detected" would surface as a 503).
    catalogue = Catalogue(postgres_facade)
    facade = postgres_facade
    first, second = await catalogue.add(stock=100), await catalogue.add(stock=100)
    keys = [f"rk-{uuid4().hex}" for _ in range(30)]
    lines = [_line(second.id, 1), _line(first.id, 2)]

    results = await asyncio.gather(
        *(facade.reserve(key, lines) for key in keys),
        *(facade.release_by_key(key) for key in keys),
        return_exceptions=True,
    )

    assert [r for r in results if isinstance(r, BaseException)] == []
    for key in keys:
        assert (await facade.release_by_key(key)).status is ReservationStatus.RELEASED
    assert (await catalogue.stock(first), await catalogue.stock(second)) == (100, 100)
