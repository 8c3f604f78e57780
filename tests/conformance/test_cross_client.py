"""One reservation, two clients: what a hold made through local or http looks like through the other.

Canary routing keeps a placement on one client, but a retry after the share
moved, the reconciler (always on the authoritative client) or a user moved by a
widened share reaches a reservation through the other one. These tests pin
what that must look like: the same reservation, never a second hold, the same
errors, and stock conserved. Each runs local-then-http and http-then-local.
"""

import asyncio

import pytest

from orders.domain.product_client import ProductServiceClient
from shop_contracts.reservations import ReservationLineRequest as Line
from shop_contracts.reservations import ReservationStatus
from tests.conformance.conftest import Catalogue
from tests.conformance.scenarios import (
    a_lapsed_hold_is_expired,
    a_refused_hold_keeps_its_key_free,
    concurrent_holds_never_oversell,
    confirm_after_a_release_is_refused,
    release_by_key_racing_reserves_leaves_nothing_held,
    reservation_key,
    reserve_with_other_lines_is_refused,
)

pytestmark = pytest.mark.postgres

Pair = tuple[ProductServiceClient, ProductServiceClient]


async def test_a_replay_through_the_other_client_returns_the_same_hold(
    first_then_other: Pair, catalogue: Catalogue
) -> None:
    first, other = first_then_other
    product = await catalogue.add(stock=5)
    key, lines = reservation_key(), [Line(product_id=product.id, quantity=2)]

    held = await first.reserve(key, lines)
    replayed = await other.reserve(key, lines)

    assert replayed == held
    assert await other.get_reservation(held.id) == await first.get_reservation(held.id) == held
    assert await catalogue.stock(product.id) == 3


async def test_a_replay_with_other_lines_is_refused_by_the_other_client(
    first_then_other: Pair, catalogue: Catalogue
) -> None:
    await reserve_with_other_lines_is_refused(*first_then_other, catalogue)


async def test_a_key_refused_through_one_client_is_free_through_the_other(
    first_then_other: Pair, catalogue: Catalogue
) -> None:
    await a_refused_hold_keeps_its_key_free(*first_then_other, catalogue)


async def test_concurrent_reserves_of_one_key_through_both_clients_hold_once(
    first_then_other: Pair, catalogue: Catalogue
) -> None:
    first, other = first_then_other
    product = await catalogue.add(stock=10)
    key, lines = reservation_key(), [Line(product_id=product.id, quantity=3)]

    results = await asyncio.gather(
        *(client.reserve(key, lines) for _ in range(8) for client in (first, other))
    )

    assert len({(r.id, r.status) for r in results}) == 1
    assert await catalogue.stock(product.id) == 7


async def test_release_by_key_through_the_other_client_returns_the_hold(
    first_then_other: Pair, catalogue: Catalogue
) -> None:
    first, other = first_then_other
    product = await catalogue.add(stock=5)
    key, lines = reservation_key(), [Line(product_id=product.id, quantity=2)]
    held = await first.reserve(key, lines)

    released = await other.release_by_key(key)

    assert (released.id, released.status) == (held.id, ReservationStatus.RELEASED)
    assert await first.release_by_key(key) == released
    # A late replay of the reserve through the first client holds nothing.
    assert await first.reserve(key, lines) == released
    assert await catalogue.stock(product.id) == 5


async def test_a_key_retired_through_one_client_holds_nothing_through_the_other(
    first_then_other: Pair, catalogue: Catalogue
) -> None:
    first, other = first_then_other
    product = await catalogue.add(stock=5)
    key = reservation_key()

    retired = await first.release_by_key(key)
    late = await other.reserve(key, [Line(product_id=product.id, quantity=2)])

    assert late == retired
    assert late.status is ReservationStatus.RELEASED
    assert await catalogue.stock(product.id) == 5


async def test_confirm_after_a_release_through_the_other_client_is_the_same_error(
    first_then_other: Pair, catalogue: Catalogue
) -> None:
    await confirm_after_a_release_is_refused(*first_then_other, catalogue)


async def test_confirm_through_one_client_and_release_through_the_other_conserve_stock(
    first_then_other: Pair, catalogue: Catalogue
) -> None:
    first, other = first_then_other
    product = await catalogue.add(stock=6)
    held = await first.reserve(reservation_key(), [Line(product_id=product.id, quantity=4)])

    confirmed = await other.confirm(held.id)
    again = await first.confirm(held.id)
    assert confirmed == again
    assert confirmed.status is ReservationStatus.CONFIRMED
    assert await catalogue.stock(product.id) == 2

    released = await first.release(held.id)
    assert await other.release(held.id) == released
    assert released.status is ReservationStatus.RELEASED
    assert await catalogue.stock(product.id) == 6


async def test_a_lapsed_hold_is_expired_through_either_client(
    first_then_other: Pair, catalogue: Catalogue
) -> None:
    await a_lapsed_hold_is_expired(*first_then_other, catalogue)


async def test_holds_through_both_clients_at_once_never_oversell(
    first_then_other: Pair, catalogue: Catalogue
) -> None:
    await concurrent_holds_never_oversell(first_then_other, catalogue)


async def test_release_by_key_racing_a_reserve_through_the_other_client_leaves_nothing_held(
    first_then_other: Pair, catalogue: Catalogue
) -> None:
    await release_by_key_racing_reserves_leaves_nothing_held(*first_then_other, catalogue)
