"""A consumed integration event is handled in a span linked to the trace that published it."""

import asyncio
from uuid import uuid4

import aio_pika
from opentelemetry import trace
from opentelemetry.trace import SpanKind

from servicekit.clock import utc_now
from servicekit.events.consumer import RabbitConsumer
from servicekit.events.handlers import Subscription
from servicekit.events.testing import delete_topology, rabbitmq_url, unique_exchange
from servicekit.testing import recorded_spans
from shop_contracts.events import IntegrationEvent, OrderCancelled, OrderCancelledV1

PUBLISHER = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


async def test_the_handler_runs_in_a_consumer_span_linked_to_the_publishers_trace() -> None:
    url, exchange = await rabbitmq_url(), unique_exchange()
    event = OrderCancelled(
        id=uuid4(),
        occurred_at=utc_now(),
        traceparent=PUBLISHER,
        payload=OrderCancelledV1(
            order_id=uuid4(), user_id="tracing", reason="test", refunded=False
        ),
    )
    handled: list[trace.SpanContext] = []
    done = asyncio.Event()

    async def handler(received: IntegrationEvent) -> None:
        handled.append(trace.get_current_span().get_span_context())
        done.set()

    with recorded_spans() as spans:
        consumer = RabbitConsumer(
            url, exchange, Subscription("tracing-test", (OrderCancelled,), handler)
        )
        await consumer.start()
        try:
            connection = await aio_pika.connect(url)
            try:
                channel = await connection.channel(publisher_confirms=True)
                target = await channel.get_exchange(exchange)
                await target.publish(
                    aio_pika.Message(event.model_dump_json().encode()),
                    routing_key=event.routing_key,
                )
            finally:
                await connection.close()
            await asyncio.wait_for(done.wait(), timeout=10)
        finally:
            await consumer.aclose()
            await delete_topology(url, exchange, [consumer.queues], max_attempts=5)
        finished = spans.get_finished_spans()

    (span,) = [s for s in finished if s.kind is SpanKind.CONSUMER]
    assert span.context is not None
    assert handled == [span.context]
    assert span.parent is None
    (link,) = span.links
    assert format(link.context.trace_id, "032x") == PUBLISHER.split("-")[1]
    assert format(link.context.span_id, "016x") == PUBLISHER.split("-")[2]
    assert (span.attributes or {})["messaging.message.id"] == str(event.id)
