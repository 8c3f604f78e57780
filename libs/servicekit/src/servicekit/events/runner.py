"""Start a process's consumers without depending on the broker being up at that moment."""

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from servicekit.events.consumer import RabbitConsumer
from servicekit.events.handlers import Subscription
from servicekit.events.settings import EventBusSettings

logger = logging.getLogger(__name__)


class ConsumerGroup:
    """One ``RabbitConsumer`` per subscription; each connects in the background, retrying.

    A process whose broker is down at startup still starts (and stays ready
    for its other work); its consumers attach once the broker answers, and the
    robust connection re-attaches them after a later outage.
    """

    def __init__(
        self,
        settings: EventBusSettings,
        subscriptions: Sequence[Subscription],
        *,
        connect_retry_seconds: float = 2.0,
    ) -> None:
        self.consumers = [
            RabbitConsumer(
                settings.rabbitmq_url.get_secret_value(),
                settings.events_exchange,
                subscription,
                max_attempts=settings.consumer_max_attempts,
                retry_base_seconds=settings.consumer_retry_base_seconds,
                retry_max_seconds=settings.consumer_retry_max_seconds,
                prefetch=settings.consumer_prefetch,
            )
            for subscription in subscriptions
        ]
        self._retry = connect_retry_seconds
        self._tasks: list[asyncio.Task[None]] = []
        self.started = asyncio.Event()

    @property
    def consuming(self) -> bool:
        """Every consumer is attached to the broker right now."""
        return all(consumer.consuming for consumer in self.consumers)

    def start(self) -> None:
        """Begin connecting every consumer."""
        self._tasks = [
            asyncio.create_task(self._attach(c), name=f"consumer:{c.queues.main}")
            for c in self.consumers
        ]

    async def _attach(self, consumer: RabbitConsumer) -> None:
        while True:
            try:
                await consumer.start()
            except Exception as exc:
                logger.warning(
                    "broker unreachable; consumer will retry",
                    extra={"queue": consumer.queues.main, "error": repr(exc)},
                )
                await consumer.aclose()
                await asyncio.sleep(self._retry)
            else:
                logger.info("consumer attached", extra={"queue": consumer.queues.main})
                if all(t.done() or t is asyncio.current_task() for t in self._tasks):
                    self.started.set()
                return

    async def aclose(self) -> None:
        """Stop connecting, then close every consumer (unacked messages are redelivered)."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for consumer in self.consumers:
            await consumer.aclose()
