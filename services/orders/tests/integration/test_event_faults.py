"""RabbitMQ faults: the broker going away mid-burst, a consumer dying mid-message, poison.

The broker "goes away" by stopping a TCP proxy the publisher connects through
(the shared broker itself keeps running), and "comes back" when a proxy
listens on the same port again.
"""

import asyncio
from collections.abc import AsyncIterator
from uuid import uuid4

import aio_pika
import pytest
from fakes import RecordingNotifier
from harness import make_settings, running_api

from products.facade import ProductsFacade
from products.testing import Catalogue
from servicekit.clock import utc_now
from servicekit.events.consumer import RabbitConsumer
from servicekit.events.handlers import Subscription
from servicekit.events.testing import queue_depth, rabbitmq_url, unique_exchange
from shop_contracts.events import IntegrationEvent, OrderCancelled, OrderCancelledV1
from shop_contracts.reservations import ReservationLineRequest
from tests.support.proxy import HoldingProxy

from .conftest import Databases
from .events_support import MAX_ATTEMPTS, Bus, eventually, scalar, worker

pytestmark = pytest.mark.postgres

BROKER_PORT = 5672


@pytest.fixture
async def bus() -> AsyncIterator[Bus]:
    found = Bus("rabbitmq", await rabbitmq_url(), unique_exchange())
    try:
        yield found
    finally:
        await found.cleanup()


@pytest.fixture
async def products(migrated: Databases) -> AsyncIterator[ProductsFacade]:
    facade = ProductsFacade.from_database_url(migrated.products, pool_size=2)
    yield facade
    await facade.aclose()


def _via(url: str, port: int) -> str:
    return url.replace(f":{BROKER_PORT}/", f":{port}/")


async def test_broker_down_during_a_burst_loses_nothing(
    migrated: Databases, catalogue: Catalogue, bus: Bus
) -> None:
    product = await catalogue.add(stock=50)
    notifier = RecordingNotifier()
    proxy = HoldingProxy(BROKER_PORT).start()
    # The API publishes through the proxy; the worker reads straight from the broker.
    api_settings = make_settings(
        migrated.orders, **bus.overrides(migrated, rabbitmq_url=_via(bus.url, proxy.port))
    )
    worker_settings = make_settings(migrated.orders, **bus.overrides(migrated))
    user = f"burst-{uuid4().hex[:8]}"

    try:
        async with (
            worker(bus, worker_settings, notifier),
            running_api(api_settings, notifications=notifier) as api,
        ):
            first = (await api.place(user, [(product.id, 1)])).json()["id"]
            await eventually(lambda: _emailed(notifier, [first]))

            proxy.stop()
            responses = await asyncio.gather(
                *(api.place(user, [(product.id, 1)]) for _ in range(15))
            )
            assert [r.status_code for r in responses] == [201] * 15
            burst = [r.json()["id"] for r in responses]

            async def backlog() -> bool:
                return await _pending(migrated, burst) == len(burst)

            await eventually(backlog)
            await asyncio.sleep(1.0)  # several relay passes fail meanwhile
            assert await _pending(migrated, burst) == len(burst)
            assert await _dead(migrated) == 0

            proxy = HoldingProxy(BROKER_PORT, port=proxy.port).start()
            await eventually(lambda: _emailed(notifier, burst), within=60)

            # The relay marks a batch published after the broker confirms it, so a
            # consumer can send the email before the row leaves 'pending'.
            async def drained() -> bool:
                return await _pending(migrated, burst) == 0

            await eventually(drained)
    finally:
        proxy.stop()

    subjects = [s for _, s, _ in notifier.emails]
    for order_id in [first, *burst]:
        assert subjects.count(f"Your order {order_id}") == 1


async def _emailed(notifier: RecordingNotifier, order_ids: list[str]) -> bool:
    subjects = {s for _, s, _ in notifier.emails}
    return all(f"Your order {o}" in subjects for o in order_ids)


async def _pending(databases: Databases, order_ids: list[str]) -> int:
    pending = 0
    for order_id in order_ids:
        pending += int(
            await scalar(
                databases.orders,
                "SELECT count(*) FROM outbox WHERE status = 'pending'"
                " AND event_type = 'OrderPlaced' AND payload LIKE :o",
                o=f"%{order_id}%",
            )
        )
    return pending


async def _dead(databases: Databases) -> int:
    return int(await scalar(databases.orders, "SELECT count(*) FROM outbox WHERE status = 'dead'"))


def _cancelled(reservation_id: object) -> OrderCancelled:
    return OrderCancelled(
        id=uuid4(),
        occurred_at=utc_now(),
        payload=OrderCancelledV1(
            order_id=uuid4(), user_id="faults", reservation_id=reservation_id,
            reason="test", refunded=False,
        ),
    )  # fmt: skip


async def _publish(url: str, exchange: str, body: bytes, routing_key: str) -> None:
    connection = await aio_pika.connect(url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        target = await channel.get_exchange(exchange)
        await target.publish(
            aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
            routing_key=routing_key,
        )
    finally:
        await connection.close()


def _consumer(bus: Bus, url: str, subscription: Subscription) -> RabbitConsumer:
    consumer = RabbitConsumer(
        url, bus.exchange, subscription, max_attempts=MAX_ATTEMPTS, retry_base_seconds=0.1
    )
    bus.queues.append(consumer.queues)
    return consumer


async def test_consumer_dying_after_commit_before_ack_gets_it_again_and_applies_it_once(
    migrated: Databases, catalogue: Catalogue, products: ProductsFacade, bus: Bus
) -> None:
    product = await catalogue.add(stock=6)
    hold = await products.reserve(
        f"kill-{uuid4().hex}", [ReservationLineRequest(product_id=product.id, quantity=4)]
    )
    [release] = products.subscriptions()
    proxy = HoldingProxy(BROKER_PORT).start()
    deliveries: list[str] = []

    async def dies_after_commit(event: IntegrationEvent) -> None:
        await release.handler(event)  # the effect and its inbox row are committed
        deliveries.append("first")
        proxy.stop()  # the process "dies": its connection goes before the ack

    async def survives(event: IntegrationEvent) -> None:
        await release.handler(event)
        deliveries.append("second")

    doomed = _consumer(
        bus,
        _via(bus.url, proxy.port),
        Subscription(release.name, release.events, dies_after_commit),
    )
    await doomed.start()
    try:
        event = _cancelled(hold.id)
        await _publish(bus.url, bus.exchange, event.model_dump_json().encode(), event.routing_key)
        await eventually(lambda: _async(deliveries == ["first"]))
    finally:
        await doomed.aclose()

    survivor = _consumer(bus, bus.url, Subscription(release.name, release.events, survives))
    await survivor.start()
    try:
        await eventually(lambda: _async(deliveries == ["first", "second"]))
    finally:
        await survivor.aclose()

    assert await catalogue.stock(product) == 6  # released once: 2 + 4, not 2 + 8
    applied = await scalar(
        migrated.products, "SELECT count(*) FROM inbox WHERE event_id = :e", e=event.id
    )
    assert applied == 1
    assert await queue_depth(bus.url, survivor.queues.main) == 0


async def _async(value: bool) -> bool:
    return value


async def test_poison_messages_are_dead_lettered_and_the_queue_keeps_moving(
    migrated: Databases, catalogue: Catalogue, products: ProductsFacade, bus: Bus
) -> None:
    product = await catalogue.add(stock=3)
    hold = await products.reserve(
        f"poison-{uuid4().hex}", [ReservationLineRequest(product_id=product.id, quantity=3)]
    )
    [release] = products.subscriptions()
    attempts: list[str] = []

    async def counting(event: IntegrationEvent) -> None:
        attempts.append(str(event.id))
        await release.handler(event)

    consumer = _consumer(bus, bus.url, Subscription(release.name, release.events, counting))
    await consumer.start()
    try:
        # Not JSON at all; then an event whose reservation does not exist (fails every time).
        await _publish(bus.url, bus.exchange, b"\x00not an event", "OrderCancelled.v1")
        unknown = _cancelled(uuid4())
        await _publish(
            bus.url, bus.exchange, unknown.model_dump_json().encode(), "OrderCancelled.v1"
        )
        good = _cancelled(hold.id)
        await _publish(bus.url, bus.exchange, good.model_dump_json().encode(), "OrderCancelled.v1")

        async def released() -> bool:
            return await catalogue.stock(product) == 3

        await eventually(released)

        async def both_dead() -> bool:
            return await queue_depth(bus.url, consumer.queues.dead) == 2

        await eventually(both_dead)
    finally:
        await consumer.aclose()

    assert attempts.count(str(unknown.id)) == MAX_ATTEMPTS  # retried with backoff, then dead
    assert attempts.count(str(good.id)) == 1
    assert await queue_depth(bus.url, consumer.queues.main) == 0
