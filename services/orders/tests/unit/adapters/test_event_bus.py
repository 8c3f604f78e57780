"""The event bus seam: the envelope a subscription or the broker gets from an outbox row."""

from datetime import UTC, datetime
from decimal import Decimal
from uuid import uuid4

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orders.adapters.events.bus import local_bus, publishing_bus
from orders.adapters.outbox.relay import ORDERS_OUTBOX
from orders.adapters.outbox.writer import append_events
from orders.domain.events import OrderCancelled, OrderPlaced
from servicekit.events.handlers import Subscription
from servicekit.events.publisher import RabbitPublisher
from servicekit.outbox.relay import OutboxRelay
from servicekit.requestid import set_request_id
from servicekit.testing import recorded_spans
from servicekit.tracing import tracer
from shop_contracts import events as wire

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _placed() -> OrderPlaced:
    return OrderPlaced(
        order_id=uuid4(), user_id="alice", occurred_at=NOW, customer_email="a@example.com",
        total=Decimal("12.30"), currency="EUR", item_count=2,
    )  # fmt: skip


async def _record_during_request(
    sessions: async_sessionmaker[AsyncSession], *events: OrderPlaced | OrderCancelled
) -> None:
    set_request_id("req-42")
    try:
        async with sessions() as session:
            await append_events(session, events, NOW)
            await session.commit()
    finally:
        set_request_id(None)


class RecordingPublisher(RabbitPublisher):
    """Keeps what would have been published; fails while ``down``."""

    def __init__(self) -> None:
        super().__init__("amqp://unused", "unused")
        self.published: list[wire.IntegrationEvent] = []
        self.down = False

    async def publish(self, event: wire.IntegrationEvent) -> None:
        if self.down:
            raise ConnectionError("broker unreachable")
        self.published.append(event)


async def test_local_bus_hands_each_subscription_the_envelope_with_the_request_id(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    received: list[wire.IntegrationEvent] = []

    async def record(event: wire.IntegrationEvent) -> None:
        received.append(event)

    placed = _placed()
    cancelled = OrderCancelled(
        order_id=placed.order_id, user_id="alice", occurred_at=NOW, reason="r",
        refunded=False, reservation_id=uuid4(),
    )  # fmt: skip
    await _record_during_request(sessions, placed, cancelled)
    bus = local_bus([Subscription("only-cancels", (wire.OrderCancelled,), record)])

    await OutboxRelay(ORDERS_OUTBOX, sessions, bus, max_attempts=3).drain()

    [envelope] = received
    assert isinstance(envelope, wire.OrderCancelled)
    assert (envelope.id, envelope.request_id) == (cancelled.event_id, "req-42")
    assert envelope.payload.reservation_id == cancelled.reservation_id


async def test_published_envelope_carries_the_dispatch_span_as_traceparent(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    publisher = RecordingPublisher()
    await _record_during_request(sessions, _placed())

    with recorded_spans() as spans:
        relay = OutboxRelay(
            ORDERS_OUTBOX,
            sessions,
            publishing_bus(publisher),
            max_attempts=3,
            tracer=tracer("orders.outbox"),
        )
        await relay.drain()

    [envelope] = publisher.published
    [dispatch] = [s for s in spans.get_finished_spans() if s.name.startswith("outbox dispatch")]
    assert dispatch.context is not None
    assert envelope.traceparent is not None
    assert envelope.traceparent.split("-")[1] == f"{dispatch.context.trace_id:032x}"
    assert envelope.request_id == "req-42"


async def test_broker_down_leaves_the_row_pending_past_max_attempts(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    publisher = RecordingPublisher()
    publisher.down = True
    event = _placed()
    await _record_during_request(sessions, event)
    relay = OutboxRelay(
        ORDERS_OUTBOX, sessions, publishing_bus(publisher), max_attempts=1, backoff_base_seconds=0
    )

    for _ in range(3):
        await relay.drain()
    assert publisher.published == []

    publisher.down = False
    await relay.drain()
    assert [e.id for e in publisher.published] == [event.event_id]
