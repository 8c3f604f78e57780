"""Run a ``Subscription`` behind its own RabbitMQ queue.

A message is acknowledged only after the handler returned, and the handler
commits its effect together with its inbox row, so a consumer that dies
mid-message gets it redelivered and the inbox makes the second delivery a
no-op. A handler failure is retried with a growing delay (``topology``); a
message that cannot be decoded, or that failed its last attempt, goes to the
dead-letter queue and the queue keeps moving.

With tracing on, each delivery is handled in a CONSUMER span of its own trace,
linked to the ``traceparent`` the envelope carries (the relay's dispatch span,
itself linked to the request that wrote the event).
"""

import logging
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from typing import Any, Self

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
)
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind

from servicekit.events.handlers import Subscription
from servicekit.events.metrics import CONSUMED, CONSUMER_LAG_SECONDS, DEAD_LETTERS
from servicekit.events.topology import (
    ConsumerQueues,
    declare_consumer_queues,
    declare_exchange,
    retry_delays,
)
from servicekit.tracing import link_to, tracer
from shop_contracts.events import IntegrationEvent, UndecodableEvent, decode_event

logger = logging.getLogger(__name__)

ATTEMPT_HEADER = "x-attempt"


def queue_name(exchange: str, subscription: Subscription) -> str:
    """A subscription's queue: one per consumer, shared by its replicas."""
    return f"{exchange}.{subscription.name}"


class RabbitConsumer:
    """Consumes one subscription's queue until closed."""

    def __init__(
        self,
        url: str,
        exchange: str,
        subscription: Subscription,
        *,
        max_attempts: int = 5,
        retry_base_seconds: float = 1.0,
        retry_max_seconds: float = 300.0,
        prefetch: int = 16,
    ) -> None:
        self._url = url
        self._exchange = exchange
        self._subscription = subscription
        self._max_attempts = max_attempts
        self._delays = retry_delays(max_attempts, retry_base_seconds, retry_max_seconds)
        self._prefetch = prefetch
        self.queues = ConsumerQueues(queue_name(exchange, subscription))
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractChannel | None = None
        self._queue: AbstractQueue | None = None
        self._tag: str | None = None
        self._tracer = tracer("servicekit.events")

    async def start(self) -> Self:
        """Connect, declare the topology and start consuming; raises if the broker is down."""
        self._connection = await aio_pika.connect_robust(self._url, timeout=10)
        self._channel = await self._connection.channel(publisher_confirms=True)
        await self._channel.set_qos(prefetch_count=self._prefetch)
        exchange = await declare_exchange(self._channel, self._exchange)
        self._queue = await declare_consumer_queues(
            self._channel, exchange, self.queues, self._subscription.routing_keys, self._delays
        )
        self._tag = await self._queue.consume(self._on_message)
        return self

    @property
    def consuming(self) -> bool:
        """Attached: its consumer is registered and the connection is up (not reconnecting)."""
        connection = self._connection
        return (
            self._tag is not None
            and connection is not None
            and not connection.is_closed
            and connection.connected.is_set()
        )

    async def aclose(self) -> None:
        """Stop consuming and close the connection (unacked messages go back to the queue)."""
        if self._connection is None:
            return
        connection, self._connection = self._connection, None
        await connection.close()

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        name = self._subscription.name
        try:
            event = decode_event(message.body)
        except UndecodableEvent as exc:
            logger.error(
                "undecodable event dead-lettered",
                extra={"consumer": name, "message_id": message.message_id, "error": str(exc)},
            )
            await self._dead(message, "undecodable")
            return
        try:
            with self._span(event):
                await self._subscription.handler(event)
        except Exception as exc:
            attempt = _attempt(message) + 1
            extra = {"consumer": name, "event_id": str(event.id), "attempt": attempt}
            if attempt >= self._max_attempts:
                logger.error(
                    "event dead-lettered after its last attempt", extra=extra, exc_info=exc
                )
                await self._dead(message, "exhausted")
            else:
                logger.warning("event handler failed; will retry", extra=extra, exc_info=exc)
                await self._retry(message, attempt)
            return
        await message.ack()
        CONSUMED.labels(name, "handled").inc()
        lag = (datetime.now(UTC) - event.occurred_at).total_seconds()
        CONSUMER_LAG_SECONDS.labels(name).observe(max(0.0, lag))

    def _span(self, event: IntegrationEvent) -> AbstractContextManager[Any]:
        if self._tracer is None:
            return nullcontext()
        # Linked, not a child: the publishing request finished long ago.
        return self._tracer.start_as_current_span(
            f"{self._subscription.name} process {event.type}",
            kind=SpanKind.CONSUMER,
            context=Context(),
            links=link_to(event.traceparent),
            attributes={
                "messaging.system": "rabbitmq",
                "messaging.destination.name": self._exchange,
                "messaging.consumer.group.name": self._subscription.name,
                "messaging.message.id": str(event.id),
            },
        )

    async def _retry(self, message: AbstractIncomingMessage, attempt: int) -> None:
        assert self._channel is not None
        copy = aio_pika.Message(
            message.body,
            headers={**(message.headers or {}), ATTEMPT_HEADER: attempt},
            content_type=message.content_type,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=message.message_id,
            type=message.type,
            timestamp=message.timestamp,
            correlation_id=message.correlation_id,
        )
        # Confirmed before the original is acked: a crash in between delivers twice
        # (the inbox absorbs it), never zero times.
        await self._channel.default_exchange.publish(copy, routing_key=self.queues.retry(attempt))
        await message.ack()
        CONSUMED.labels(self._subscription.name, "retry").inc()

    async def _dead(self, message: AbstractIncomingMessage, reason: str) -> None:
        await message.reject(requeue=False)
        CONSUMED.labels(self._subscription.name, "dead").inc()
        DEAD_LETTERS.labels(self._subscription.name, reason).inc()


def _attempt(message: AbstractIncomingMessage) -> int:
    value = (message.headers or {}).get(ATTEMPT_HEADER, 0)
    return value if isinstance(value, int) else 0
