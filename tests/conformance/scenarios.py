"""Scenarios the suite runs through one client and across two (local and http).

Each takes the clients that make each step: a test of one mode passes its one
client for every step, ``test_cross_client`` passes local then http and http
then local. The assertions are the same either way: through which client a
reservation is touched must not change what it does.
"""

import asyncio
from collections.abc import Sequence
from typing import TypeVar
from uuid import UUID, uuid4

import pytest

from orders.domain.product_client import ProductServiceClient
from shop_contracts.errors import (
    DomainError,
    IdempotencyKeyReused,
    InsufficientStock,
    ReservationExpired,
    ReservationReleased,
)
from shop_contracts.limits import MAX_ORDER_TOTAL, MAX_PRICE
from shop_contracts.reservations import ReservationLineRequest as Line
from shop_contracts.reservations import ReservationStatus
from tests.conformance.conftest import Catalogue

ErrorT = TypeVar("ErrorT", bound=DomainError)

KEY_REUSED_DETAIL = (
    "This key was already used with a different request; a new request needs a new key"
)


def reservation_key() -> str:
    """A key no other test uses."""
    return f"conformance:{uuid4().hex}"


def consumer_view(exc: DomainError) -> dict[str, object]:
    """What orders' consumer reads of a product client's error: the problem's members."""
    return {"code": exc.code.value, "status": exc.status, "detail": exc.detail, **exc.extensions()}


def _problem(exc: DomainError) -> tuple[object, ...]:
    """What a caller can see of an error: its type, code, status, detail and subject."""
    return (type(exc), exc.code, exc.status, exc.detail, getattr(exc, "reservation_id", None))


async def same_confirm_error(
    clients: Sequence[ProductServiceClient], reservation_id: UUID, expected: type[ErrorT]
) -> ErrorT:
    """The ``expected`` error a confirm raises through each of ``clients``: the same each time."""
    errors: list[ErrorT] = []
    for client in clients:
        with pytest.raises(expected) as raised:
            await client.confirm(reservation_id)
        errors.append(raised.value)
    assert all(_problem(error) == _problem(errors[0]) for error in errors)
    return errors[0]


async def reserve_with_other_lines_is_refused(
    first: ProductServiceClient, then: ProductServiceClient, catalogue: Catalogue
) -> None:
    """A key held through ``first`` and reused with other lines through ``then`` is refused."""
    product = await catalogue.add(stock=5)
    key = reservation_key()
    await first.reserve(key, [Line(product_id=product.id, quantity=1)])

    with pytest.raises(IdempotencyKeyReused) as raised:
        await then.reserve(key, [Line(product_id=product.id, quantity=2)])
    assert consumer_view(raised.value) == {
        "code": "idempotency_key_reused",
        "status": 422,
        "detail": KEY_REUSED_DETAIL,
    }
    assert await catalogue.stock(product.id) == 4


async def a_refused_hold_keeps_its_key_free(
    first: ProductServiceClient, then: ProductServiceClient, catalogue: Catalogue
) -> None:
    """Holds refused through ``first`` (two currencies, past the order total, an unknown
    product) read the same in every mode, keep nothing, and leave the key to a corrected
    hold through ``then`` (ADR 0020)."""
    euro, dollar = await catalogue.add(stock=5), await catalogue.add(stock=5, currency="USD")
    gold = await catalogue.add(stock=5, price=str(MAX_PRICE))
    unknown = uuid4()
    refusals: list[tuple[list[Line], dict[str, object]]] = [
        (
            [Line(product_id=euro.id, quantity=1), Line(product_id=dollar.id, quantity=1)],
            {
                "code": "mixed_currencies",
                "status": 422,
                "detail": "The items are priced in EUR, USD; an order takes one currency: "
                "order each currency's items separately",
                "currencies": ["EUR", "USD"],
            },
        ),
        (
            [Line(product_id=gold.id, quantity=2)],
            {
                "code": "order_total_too_large",
                "status": 422,
                "detail": f"The order total {2 * MAX_PRICE:.2f} passes the limit of "
                f"{MAX_ORDER_TOTAL}; order fewer units or split the order",
            },
        ),
        (
            [Line(product_id=euro.id, quantity=1), Line(product_id=unknown, quantity=1)],
            {
                "code": "product_not_found",
                "status": 404,
                "detail": f"Unknown product(s): {unknown}",
                "product_ids": [str(unknown)],
            },
        ),
    ]
    for lines, expected in refusals:
        key = reservation_key()
        with pytest.raises(DomainError) as raised:
            await first.reserve(key, lines)
        assert consumer_view(raised.value) == expected

        corrected = await then.reserve(key, [Line(product_id=euro.id, quantity=1)])

        assert corrected.status is ReservationStatus.HELD
        await then.release(corrected.id)
    stocks = [await catalogue.stock(p.id) for p in (euro, dollar, gold)]
    assert stocks == [5, 5, 5]


async def concurrent_holds_never_oversell(
    clients: Sequence[ProductServiceClient], catalogue: Catalogue
) -> None:
    """60 holds of one unit each of a product with 20, made through ``clients`` in turn."""
    product = await catalogue.add(stock=20)
    line = [Line(product_id=product.id, quantity=1)]

    results = await asyncio.gather(
        *(
            client.reserve(reservation_key(), line)
            for _ in range(60 // len(clients))
            for client in clients
        ),
        return_exceptions=True,
    )

    held = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, InsufficientStock)]
    assert (len(held), len(refused)) == (20, 40)
    assert await catalogue.stock(product.id) == 0


async def release_by_key_racing_reserves_leaves_nothing_held(
    reserving: ProductServiceClient, releasing: ProductServiceClient, catalogue: Catalogue
) -> None:
    """Reserves through ``reserving`` raced by releases of their keys through ``releasing``."""
    product = await catalogue.add(stock=50)
    keys = [reservation_key() for _ in range(10)]
    line = [Line(product_id=product.id, quantity=1)]

    await asyncio.gather(
        *(reserving.reserve(key, line) for key in keys),
        *(releasing.release_by_key(key) for key in keys),
    )

    for key in keys:
        assert (await reserving.release_by_key(key)).status is ReservationStatus.RELEASED
    assert await catalogue.stock(product.id) == 50


async def confirm_after_a_release_is_refused(
    first: ProductServiceClient, then: ProductServiceClient, catalogue: Catalogue
) -> None:
    """A hold made and released through ``first``: a confirm through ``then``, then ``first``,
    is refused the same way, and the stock stays returned."""
    product = await catalogue.add(stock=4)
    held = await first.reserve(reservation_key(), [Line(product_id=product.id, quantity=3)])
    await first.release(held.id)

    error = await same_confirm_error((then, first), held.id, ReservationReleased)

    assert error.reservation_id == held.id
    assert await catalogue.stock(product.id) == 4


async def a_lapsed_hold_is_expired(
    first: ProductServiceClient, then: ProductServiceClient, catalogue: Catalogue
) -> None:
    """A hold made through ``first`` that lapsed: a confirm through ``then``, then ``first``,
    expires it the same way, it reads as expired, and its stock is back."""
    product = await catalogue.add(stock=5)
    held = await first.reserve(reservation_key(), [Line(product_id=product.id, quantity=4)])
    await catalogue.lapse(held.id)

    error = await same_confirm_error((then, first), held.id, ReservationExpired)

    assert error.reservation_id == held.id
    assert (await first.get_reservation(held.id)).status is ReservationStatus.EXPIRED
    assert await catalogue.stock(product.id) == 5
    # Releasing a lapsed hold is a no-op that reports its state.
    assert (await then.release(held.id)).status is ReservationStatus.EXPIRED
    assert await catalogue.stock(product.id) == 5
