"""Release by key: for a reserve whose outcome the caller does not know; same in every mode."""

import pytest

from orders.domain.product_client import ProductServiceClient
from shop_contracts.errors import ReservationReleased
from shop_contracts.reservations import ReservationLineRequest as Line
from shop_contracts.reservations import ReservationStatus
from tests.conformance.conftest import CONNECTION_BUDGET, Catalogue
from tests.conformance.scenarios import (
    release_by_key_racing_reserves_leaves_nothing_held,
    reservation_key,
)

pytestmark = pytest.mark.postgres


async def test_release_by_key_returns_a_held_hold_once(
    client: ProductServiceClient, catalogue: Catalogue
) -> None:
    product = await catalogue.add(stock=5)
    key = reservation_key()
    held = await client.reserve(key, [Line(product_id=product.id, quantity=2)])

    released = await client.release_by_key(key)
    again = await client.release_by_key(key)

    assert (released.id, released.status) == (held.id, ReservationStatus.RELEASED)
    assert again == released
    assert await catalogue.stock(product.id) == 5
    with pytest.raises(ReservationReleased):
        await client.confirm(held.id)


async def test_release_by_key_returns_a_confirmed_hold(
    client: ProductServiceClient, catalogue: Catalogue
) -> None:
    product = await catalogue.add(stock=5)
    key = reservation_key()
    held = await client.reserve(key, [Line(product_id=product.id, quantity=3)])
    await client.confirm(held.id)

    released = await client.release_by_key(key)

    assert released.status is ReservationStatus.RELEASED
    assert await catalogue.stock(product.id) == 5


async def test_unknown_key_is_retired_so_a_late_reserve_holds_nothing(
    client: ProductServiceClient, catalogue: Catalogue
) -> None:
    product = await catalogue.add(stock=5)
    key = reservation_key()

    retired = await client.release_by_key(key)
    late = await client.reserve(key, [Line(product_id=product.id, quantity=2)])

    assert (retired.key, retired.status, retired.lines) == (key, ReservationStatus.RELEASED, [])
    assert late == retired
    assert await client.get_reservation(retired.id) == retired
    assert await client.release_by_key(key) == retired
    assert await catalogue.stock(product.id) == 5


async def test_release_by_key_racing_the_reserve_leaves_nothing_held(
    client: ProductServiceClient, catalogue: Catalogue
) -> None:
    await release_by_key_racing_reserves_leaves_nothing_held(client, client, catalogue)

    # The race grew every pool of the suite: together they must fit the server's
    # connections, or products answers 503 and the breaker opens (ADR 0009).
    assert await catalogue.connections() <= CONNECTION_BUDGET
