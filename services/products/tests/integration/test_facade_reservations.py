"""Reserve / confirm / release through the facade, on SQLite and PostgreSQL."""

from decimal import Decimal
from uuid import uuid4

import pytest

from products.facade import ProductsFacade
from products.testing import Catalogue, FrozenClock
from shop_contracts.errors import (
    IdempotencyKeyReused,
    InsufficientStock,
    MixedCurrencies,
    OrderTotalTooLarge,
    ProductNotFound,
    ReservationExpired,
    ReservationNotFound,
    ReservationReleased,
)
from shop_contracts.limits import MAX_ORDER_TOTAL
from shop_contracts.reservations import ReservationLineRequest, ReservationStatus


def _line(product_id: object, quantity: int) -> ReservationLineRequest:
    return ReservationLineRequest.model_validate({"product_id": product_id, "quantity": quantity})


def _key() -> str:
    return f"key-{uuid4().hex}"


async def test_reserve_holds_stock_and_snapshots_name_and_price(
    facade: ProductsFacade, catalogue: Catalogue, clock: FrozenClock
) -> None:
    product = await catalogue.add(stock=10, price="12.50", name="Blue Mug")

    reservation = await facade.reserve(_key(), [_line(product.id, 3)])

    assert reservation.status is ReservationStatus.HELD
    assert reservation.expires_at == clock.now + (reservation.expires_at - reservation.created_at)
    assert (reservation.expires_at - reservation.created_at).total_seconds() == 60
    [line] = reservation.lines
    assert (line.product_id, line.quantity, line.product_name) == (product.id, 3, "Blue Mug")
    assert (line.unit_price, line.currency) == (Decimal("12.50"), "EUR")
    assert await catalogue.stock(product) == 7


async def test_duplicate_product_lines_are_merged(
    facade: ProductsFacade, catalogue: Catalogue
) -> None:
    product = await catalogue.add(stock=10)

    reservation = await facade.reserve(_key(), [_line(product.id, 2), _line(product.id, 3)])

    assert [(line.product_id, line.quantity) for line in reservation.lines] == [(product.id, 5)]
    assert await catalogue.stock(product) == 5


async def test_same_key_and_lines_return_the_same_reservation_without_a_second_hold(
    facade: ProductsFacade, catalogue: Catalogue
) -> None:
    product = await catalogue.add(stock=10)
    key = _key()
    first = await facade.reserve(key, [_line(product.id, 2), _line(product.id, 2)])

    # Same hold expressed differently (merged lines) is still the same request.
    replay = await facade.reserve(key, [_line(product.id, 4)])

    assert replay == first
    assert await catalogue.stock(product) == 6


async def test_replay_returns_the_reservation_in_its_current_status(
    facade: ProductsFacade, catalogue: Catalogue
) -> None:
    product = await catalogue.add(stock=1)
    key = _key()
    first = await facade.reserve(key, [_line(product.id, 1)])
    await facade.release(first.id)

    replay = await facade.reserve(key, [_line(product.id, 1)])

    assert replay.id == first.id
    assert replay.status is ReservationStatus.RELEASED
    assert await catalogue.stock(product) == 1


async def test_same_key_with_different_lines_is_refused(
    facade: ProductsFacade, catalogue: Catalogue
) -> None:
    product = await catalogue.add(stock=10)
    key = _key()
    await facade.reserve(key, [_line(product.id, 1)])

    with pytest.raises(IdempotencyKeyReused):
        await facade.reserve(key, [_line(product.id, 2)])
    assert await catalogue.stock(product) == 9


async def test_unknown_products_are_all_named_before_stock_is_checked(
    facade: ProductsFacade, catalogue: Catalogue
) -> None:
    product = await catalogue.add(stock=0)
    unknown = sorted([uuid4(), uuid4()], key=str)

    with pytest.raises(ProductNotFound) as caught:
        await facade.reserve(
            _key(), [_line(unknown[0], 1), _line(product.id, 5), _line(unknown[1], 1)]
        )

    assert caught.value.product_ids == unknown


async def test_one_short_line_holds_nothing_and_names_every_short_product(
    facade: ProductsFacade, catalogue: Catalogue
) -> None:
    plenty = await catalogue.add(stock=10)
    short_a = await catalogue.add(stock=1)
    short_b = await catalogue.add(stock=0)
    key = _key()

    with pytest.raises(InsufficientStock) as caught:
        await facade.reserve(key, [_line(plenty.id, 5), _line(short_a.id, 2), _line(short_b.id, 1)])

    assert caught.value.product_ids == sorted([short_a.id, short_b.id], key=str)
    assert [await catalogue.stock(p) for p in (plenty, short_a, short_b)] == [10, 1, 0]
    # The failed attempt left no reservation behind: the key is free for a smaller order.
    retry = await facade.reserve(key, [_line(plenty.id, 5)])
    assert retry.status is ReservationStatus.HELD


async def test_confirm_is_idempotent_and_keeps_stock_taken(
    facade: ProductsFacade, catalogue: Catalogue
) -> None:
    product = await catalogue.add(stock=5)
    reservation = await facade.reserve(_key(), [_line(product.id, 2)])

    first = await facade.confirm(reservation.id)
    second = await facade.confirm(reservation.id)

    assert first.status is second.status is ReservationStatus.CONFIRMED
    assert (await facade.get_reservation(reservation.id)).status is ReservationStatus.CONFIRMED
    assert await catalogue.stock(product) == 3


async def test_release_from_held_returns_stock_once(
    facade: ProductsFacade, catalogue: Catalogue
) -> None:
    product = await catalogue.add(stock=5)
    reservation = await facade.reserve(_key(), [_line(product.id, 2)])

    first = await facade.release(reservation.id)
    second = await facade.release(reservation.id)

    assert first.status is second.status is ReservationStatus.RELEASED
    assert await catalogue.stock(product) == 5


async def test_release_from_confirmed_returns_stock(
    facade: ProductsFacade, catalogue: Catalogue
) -> None:
    product = await catalogue.add(stock=5)
    reservation = await facade.reserve(_key(), [_line(product.id, 4)])
    await facade.confirm(reservation.id)

    released = await facade.release(reservation.id)

    assert released.status is ReservationStatus.RELEASED
    assert await catalogue.stock(product) == 5


async def test_confirm_after_release_is_refused(
    facade: ProductsFacade, catalogue: Catalogue
) -> None:
    product = await catalogue.add(stock=5)
    reservation = await facade.reserve(_key(), [_line(product.id, 1)])
    await facade.release(reservation.id)

    with pytest.raises(ReservationReleased):
        await facade.confirm(reservation.id)


async def test_confirm_after_lapse_expires_the_hold_and_returns_stock(
    facade: ProductsFacade, catalogue: Catalogue, clock: FrozenClock
) -> None:
    product = await catalogue.add(stock=5)
    reservation = await facade.reserve(_key(), [_line(product.id, 3)])
    clock.advance(61)

    with pytest.raises(ReservationExpired):
        await facade.confirm(reservation.id)
    with pytest.raises(ReservationExpired):
        await facade.confirm(reservation.id)

    assert (await facade.get_reservation(reservation.id)).status is ReservationStatus.EXPIRED
    assert await catalogue.stock(product) == 5


async def test_replaying_a_lapsed_hold_expires_it_before_the_sweeper_does(
    facade: ProductsFacade, catalogue: Catalogue, clock: FrozenClock
) -> None:
    product = await catalogue.add(stock=5)
    key = _key()
    first = await facade.reserve(key, [_line(product.id, 3)])
    clock.advance(61)  # past expires_at; no sweeper has run

    replay = await facade.reserve(key, [_line(product.id, 3)])
    again = await facade.reserve(key, [_line(product.id, 3)])

    assert (replay.id, replay.status) == (first.id, ReservationStatus.EXPIRED)
    assert again == replay
    assert await catalogue.stock(product) == 5
    with pytest.raises(ReservationExpired):
        await facade.confirm(first.id)
    assert await catalogue.stock(product) == 5


async def test_release_of_an_expired_reservation_changes_nothing(
    facade: ProductsFacade, catalogue: Catalogue, clock: FrozenClock
) -> None:
    product = await catalogue.add(stock=5)
    reservation = await facade.reserve(_key(), [_line(product.id, 3)])
    clock.advance(61)
    with pytest.raises(ReservationExpired):
        await facade.confirm(reservation.id)

    released = await facade.release(reservation.id)

    assert released.status is ReservationStatus.EXPIRED
    assert await catalogue.stock(product) == 5


async def test_unknown_reservation_is_not_found_everywhere(facade: ProductsFacade) -> None:
    missing = uuid4()
    for call in (facade.confirm, facade.release, facade.get_reservation):
        with pytest.raises(ReservationNotFound):
            await call(missing)


async def test_a_reservation_reads_back_as_the_write_returned_it(
    facade: ProductsFacade, catalogue: Catalogue
) -> None:
    # The read maps rows, the write maps the domain object: the two views must agree.
    first = await catalogue.add(stock=5, price="1.25", currency="USD")
    second = await catalogue.add(stock=5, price="0.10", currency="USD")
    held = await facade.reserve(_key(), [_line(second.id, 2), _line(first.id, 1)])
    retired = await facade.release_by_key(_key())  # a released reservation without lines

    assert len(held.lines) == 2
    assert retired.lines == []
    assert await facade.get_reservation(held.id) == held
    assert await facade.get_reservation(retired.id) == retired


async def test_the_order_total_limit_holds_at_the_limit_and_refuses_a_cent_over(
    facade: ProductsFacade, catalogue: Catalogue
) -> None:
    # On PostgreSQL the hold is one statement that checks the total itself (ADR 0028):
    # its rule must be the domain's to the cent, or a refusable hold would be made.
    third = Decimal("3333333333.33")
    assert third * 3 == MAX_ORDER_TOTAL
    at_limit = await catalogue.add(stock=4, price=str(third))
    over = await catalogue.add(stock=4, price=str(third + Decimal("0.01")))
    key = _key()

    with pytest.raises(OrderTotalTooLarge):
        await facade.reserve(key, [_line(over.id, 3)])
    assert await catalogue.stock(over) == 4

    held = await facade.reserve(key, [_line(at_limit.id, 3)])  # the key was not used up
    assert held.status is ReservationStatus.HELD
    assert await catalogue.stock(at_limit) == 1


async def test_mixed_currencies_hold_nothing_and_leave_the_key_free(
    facade: ProductsFacade, catalogue: Catalogue
) -> None:
    euros = await catalogue.add(stock=3, currency="EUR")
    dollars = await catalogue.add(stock=3, currency="USD")
    key = _key()

    with pytest.raises(MixedCurrencies):
        await facade.reserve(key, [_line(euros.id, 1), _line(dollars.id, 1)])

    assert [await catalogue.stock(p) for p in (euros, dollars)] == [3, 3]
    assert (await facade.reserve(key, [_line(euros.id, 1)])).status is ReservationStatus.HELD
