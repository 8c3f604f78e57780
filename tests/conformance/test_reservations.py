"""Reservations (hold / confirm / release / expiry) behave identically through every client."""

import asyncio
from decimal import Decimal
from uuid import UUID

import pytest

from orders.domain.product_client import ProductServiceClient
from shop_contracts.errors import (
    InsufficientStock,
    ProductNotFound,
    ReservationNotFound,
)
from shop_contracts.reservations import ReservationLineRequest as Line
from shop_contracts.reservations import ReservationStatus
from tests.conformance.conftest import Catalogue
from tests.conformance.scenarios import (
    a_lapsed_hold_is_expired,
    a_refused_hold_keeps_its_key_free,
    concurrent_holds_never_oversell,
    confirm_after_a_release_is_refused,
    reservation_key,
    reserve_with_other_lines_is_refused,
)

pytestmark = pytest.mark.postgres


async def test_reserve_holds_stock_and_snapshots_name_and_price(
    client: ProductServiceClient, catalogue: Catalogue
) -> None:
    mug, pen = await catalogue.add(stock=10, price="4.20"), await catalogue.add(stock=3)
    key = reservation_key()
    reservation = await client.reserve(
        key, [Line(product_id=mug.id, quantity=2), Line(product_id=pen.id, quantity=3)]
    )
    assert reservation.key == key
    assert reservation.status is ReservationStatus.HELD
    by_product = {line.product_id: line for line in reservation.lines}
    assert by_product[mug.id].quantity == 2
    assert by_product[mug.id].unit_price == Decimal("4.20")
    assert by_product[mug.id].product_name == mug.name
    assert (await catalogue.stock(mug.id), await catalogue.stock(pen.id)) == (8, 0)


async def test_same_key_and_lines_return_the_same_hold_once(
    client: ProductServiceClient, catalogue: Catalogue
) -> None:
    product = await catalogue.add(stock=5)
    key, lines = reservation_key(), [Line(product_id=product.id, quantity=2)]
    first = await client.reserve(key, lines)
    again = await client.reserve(key, lines)
    assert again == first
    assert await catalogue.stock(product.id) == 3


async def test_same_key_with_other_lines_is_rejected(
    client: ProductServiceClient, catalogue: Catalogue
) -> None:
    await reserve_with_other_lines_is_refused(client, client, catalogue)


async def test_a_refused_hold_reads_the_same_and_keeps_its_key_free(
    client: ProductServiceClient, catalogue: Catalogue
) -> None:
    await a_refused_hold_keeps_its_key_free(client, client, catalogue)


async def test_insufficient_stock_names_short_products_and_holds_nothing(
    client: ProductServiceClient, catalogue: Catalogue
) -> None:
    plenty, scarce = await catalogue.add(stock=10), await catalogue.add(stock=1)
    with pytest.raises(InsufficientStock) as raised:
        await client.reserve(
            reservation_key(),
            [Line(product_id=plenty.id, quantity=2), Line(product_id=scarce.id, quantity=2)],
        )
    assert raised.value.product_ids == [scarce.id]
    assert (await catalogue.stock(plenty.id), await catalogue.stock(scarce.id)) == (10, 1)


async def test_reserving_an_unknown_product_raises_product_not_found(
    client: ProductServiceClient, catalogue: Catalogue, missing_id: UUID
) -> None:
    product = await catalogue.add(stock=10)
    with pytest.raises(ProductNotFound) as raised:
        await client.reserve(
            reservation_key(),
            [Line(product_id=product.id, quantity=1), Line(product_id=missing_id, quantity=1)],
        )
    assert raised.value.product_ids == [missing_id]
    assert await catalogue.stock(product.id) == 10


async def test_confirm_is_idempotent_and_keeps_stock_taken(
    client: ProductServiceClient, catalogue: Catalogue
) -> None:
    product = await catalogue.add(stock=4)
    held = await client.reserve(reservation_key(), [Line(product_id=product.id, quantity=3)])
    confirmed = await client.confirm(held.id)
    assert confirmed.status is ReservationStatus.CONFIRMED
    assert (await client.confirm(held.id)).status is ReservationStatus.CONFIRMED
    assert (await client.get_reservation(held.id)).status is ReservationStatus.CONFIRMED
    assert await catalogue.stock(product.id) == 1


async def test_release_returns_stock_once_from_held_or_confirmed(
    client: ProductServiceClient, catalogue: Catalogue
) -> None:
    product = await catalogue.add(stock=6)
    held = await client.reserve(reservation_key(), [Line(product_id=product.id, quantity=2)])
    confirmed = await client.reserve(reservation_key(), [Line(product_id=product.id, quantity=3)])
    await client.confirm(confirmed.id)
    assert await catalogue.stock(product.id) == 1
    for reservation in (held, confirmed):
        assert (await client.release(reservation.id)).status is ReservationStatus.RELEASED
        assert (await client.release(reservation.id)).status is ReservationStatus.RELEASED
    assert await catalogue.stock(product.id) == 6


async def test_confirming_a_released_reservation_is_refused(
    client: ProductServiceClient, catalogue: Catalogue
) -> None:
    await confirm_after_a_release_is_refused(client, client, catalogue)


async def test_confirm_after_lapse_expires_the_hold_and_returns_stock(
    client: ProductServiceClient, catalogue: Catalogue
) -> None:
    await a_lapsed_hold_is_expired(client, client, catalogue)


@pytest.mark.parametrize("operation", ["confirm", "release", "get_reservation"])
async def test_unknown_reservation_raises_reservation_not_found(
    client: ProductServiceClient, missing_id: UUID, operation: str
) -> None:
    with pytest.raises(ReservationNotFound) as raised:
        await getattr(client, operation)(missing_id)
    assert raised.value.reservation_id == missing_id


async def test_concurrent_holds_never_oversell(
    client: ProductServiceClient, catalogue: Catalogue
) -> None:
    await concurrent_holds_never_oversell([client], catalogue)


async def test_concurrent_same_key_creates_one_hold(
    client: ProductServiceClient, catalogue: Catalogue
) -> None:
    product = await catalogue.add(stock=10)
    key, line = reservation_key(), [Line(product_id=product.id, quantity=2)]
    results = await asyncio.gather(*(client.reserve(key, line) for _ in range(15)))
    assert len({r.id for r in results}) == 1
    assert await catalogue.stock(product.id) == 8
