"""One suite, both buses: the same observable effects with APP_EVENT_BUS=local and rabbitmq.

The effects: one confirmation e-mail per order, stock back after a cancel,
and the products consumer releasing a cancelled order's hold even when
nothing else did (the backstop). In rabbitmq mode the reactions run in
``orders worker`` (here in-process) against the real broker.
"""

from collections.abc import AsyncIterator
from uuid import UUID, uuid4

import pytest
from fakes import RecordingNotifier
from harness import make_settings, running_api

from orders.adapters.outbox.writer import append_events
from orders.domain.events import OrderCancelled
from products.facade import ProductsFacade
from products.testing import Catalogue
from servicekit.clock import utc_now
from servicekit.db import create_engine, session_factory
from servicekit.events.testing import rabbitmq_url, unique_exchange
from shop_contracts.reservations import ReservationLineRequest

from .conftest import Databases
from .events_support import Bus, eventually, scalar, worker

pytestmark = pytest.mark.postgres


@pytest.fixture(params=["local", "rabbitmq"])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[Bus]:
    if request.param == "local":
        yield Bus("local")
        return
    found = Bus("rabbitmq", await rabbitmq_url(), unique_exchange())
    try:
        yield found
    finally:
        await found.cleanup()


async def _outbox_pending(databases: Databases) -> int:
    return int(
        await scalar(databases.orders, "SELECT count(*) FROM outbox WHERE status = 'pending'")
    )


async def test_one_email_per_order_and_stock_back_after_cancel(
    migrated: Databases, catalogue: Catalogue, bus: Bus
) -> None:
    product = await catalogue.add(stock=10)
    notifier = RecordingNotifier()
    settings = make_settings(migrated.orders, **bus.overrides(migrated))

    async with (
        worker(bus, settings, notifier),
        running_api(settings, notifications=notifier) as api,
    ):
        user = f"u-{uuid4().hex[:8]}"
        placed = [(await api.place(user, [(product.id, 1)])).json()["id"] for _ in range(3)]
        cancel = await api.http.post(
            f"/api/v1/orders/{placed[0]}/cancel", json={"reason": "changed my mind"},
            headers=api.auth(user),
        )  # fmt: skip
        assert cancel.status_code == 200, cancel.text

        async def settled() -> bool:
            mine = [e for e in notifier.emails if any(o in e[1] for o in placed)]
            return len(mine) >= 3 and await _outbox_pending(migrated) == 0

        await eventually(settled)
        cancelled_event = await scalar(
            migrated.orders,
            "SELECT id FROM outbox WHERE event_type = 'OrderCancelled' AND payload LIKE :o",
            o=f"%{placed[0]}%",
        )

        async def backstop_ran() -> bool:
            return bool(
                await scalar(
                    migrated.products,
                    "SELECT count(*) FROM inbox WHERE event_id = :e",
                    e=cancelled_event,
                )
            )

        await eventually(backstop_ran)

    mine = [e for e in notifier.emails if any(o in e[1] for o in placed)]
    assert sorted(subject for _, subject, _ in mine) == sorted(f"Your order {o}" for o in placed)
    assert len({key for _, _, key in mine}) == 3
    assert await catalogue.stock(product) == 8
    emailed = await scalar(
        migrated.orders,
        "SELECT count(*) FROM inbox WHERE consumer = 'order_confirmation_email'"
        " AND event_id IN (SELECT id FROM outbox WHERE event_type = 'OrderPlaced'"
        " AND payload LIKE :u)",
        u=f"%{user}%",
    )
    assert emailed == 3


async def test_products_releases_a_cancelled_orders_hold_that_nothing_else_released(
    migrated: Databases, catalogue: Catalogue, bus: Bus
) -> None:
    product = await catalogue.add(stock=5)
    facade = ProductsFacade.from_database_url(migrated.products, pool_size=1)
    hold = await facade.reserve(
        f"backstop-{uuid4().hex}", [ReservationLineRequest(product_id=product.id, quantity=2)]
    )
    assert await catalogue.stock(product) == 3
    settings = make_settings(migrated.orders, **bus.overrides(migrated))
    notifier = RecordingNotifier()

    async with worker(bus, settings, notifier), running_api(settings, notifications=notifier):
        await _record(migrated, hold.id)

        async def released() -> bool:
            return await catalogue.stock(product) == 5

        await eventually(released)
        assert (await facade.get_reservation(hold.id)).status == "released"
    await facade.aclose()


async def _record(databases: Databases, reservation_id: UUID) -> None:
    """An OrderCancelled in the outbox whose synchronous release never happened."""
    event = OrderCancelled(
        order_id=uuid4(), user_id="backstop", occurred_at=utc_now(),
        reason="release call failed", refunded=False, reservation_id=reservation_id,
    )  # fmt: skip
    engine = create_engine(databases.orders, pool_size=1)
    try:
        async with session_factory(engine)() as session:
            await append_events(session, [event], utc_now())
            await session.commit()
    finally:
        await engine.dispose()
