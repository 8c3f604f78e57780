"""One Idempotency-Key, one answer once the request has executed (ADR 0019), on PostgreSQL."""

import asyncio
from uuid import UUID

import pytest
from harness import make_settings, running_api
from sqlalchemy.exc import OperationalError

from products.facade import ProductsFacade
from products.testing import Catalogue
from shop_contracts.reservations import Reservation

from .conftest import Databases, local_mode
from .events_support import scalar

pytestmark = pytest.mark.postgres

TTL_SECONDS = 1.0


async def test_a_retry_after_the_hold_lapsed_gets_one_answer_before_the_sweeper_runs(
    migrated: Databases, catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The sequence an operator saw in local mode (issue #29): the first attempt
    # failed after reserve and its compensation failed too; the retry came after
    # the hold's expires_at but before any sweeper. It used to be 500 → 409 → 200.
    product = await catalogue.add(stock=4)
    held: list[Reservation] = []

    async def database_blinks(reservation: Reservation) -> None:
        if not held:
            held.append(reservation)
            raise OperationalError("INSERT INTO orders", {}, ConnectionResetError(104, "reset"))

    original_release = ProductsFacade.release

    async def release_fails_once(self: ProductsFacade, reservation_id: UUID) -> Reservation:
        if reservation_id == held[0].id:
            raise OperationalError("UPDATE reservations", {}, ConnectionRefusedError(111, "x"))
        return await original_release(self, reservation_id)

    monkeypatch.setattr(ProductsFacade, "release", release_fails_once)
    settings = make_settings(
        migrated.orders,
        **local_mode(migrated, products_reservation_ttl_seconds=TTL_SECONDS),
    )
    async with running_api(settings, after_reserve=database_blinks) as api:
        first = await api.place("one-key", [(product.id, 3)], key="k")
        assert await catalogue.stock(product) == 1  # the hold outlived the failed attempt
        await asyncio.sleep(TTL_SECONDS + 0.2)  # past expires_at; the sweeper is off
        answers = [await api.place("one-key", [(product.id, 3)], key="k") for _ in range(3)]

    assert first.status_code == 503
    assert first.json()["code"] == "database_unavailable"
    assert first.headers["retry-after"] == "1"
    # Nothing was saved by the first attempt, so the retry executes: the lapsed hold is
    # expired on the spot (never replayed as held), and every later retry agrees.
    assert [a.status_code for a in answers] == [409, 409, 409]
    assert {a.json()["code"] for a in answers} == {"reservation_expired"}
    assert await catalogue.stock(product) == 4
    assert (
        await scalar(migrated.orders, "SELECT count(*) FROM orders WHERE user_id = 'one-key'") == 0
    )
