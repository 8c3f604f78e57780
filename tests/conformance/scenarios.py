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
from shop_contracts.reservations import ReservationLineRequest as Line
from shop_contracts.reservations import ReservationStatus
from tests.conformance.conftest import Catalogue

ErrorT = TypeVar("ErrorT", bound=DomainError)


def reservation_key() -> str:
    """A key no other test uses."""
    return f"conformance:{uuid4().hex}"


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

    with pytest.raises(IdempotencyKeyReused):
        await then.reserve(key, [Line(product_id=product.id, quantity=2)])
    assert await catalogue.stock(product.id) == 4


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
