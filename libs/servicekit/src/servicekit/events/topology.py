"""Exchanges and queues: a durable topic exchange, and per consumer a queue with
retry queues (one per attempt, each with its own delay) and a dead-letter queue.

A failed message is re-published to ``<queue>.retry.<n>`` whose messages expire
after that attempt's delay and dead-letter back into ``<queue>`` through the
default exchange; after the last attempt it is rejected and the queue's own
dead-letter routing puts it in ``<queue>.dead``, where it stays for inspection.
One queue per delay keeps a long wait from holding up a short one behind it.
"""

from dataclasses import dataclass

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractQueue


@dataclass(frozen=True, slots=True)
class ConsumerQueues:
    """The names of one consumer's queues."""

    main: str

    @property
    def dead(self) -> str:
        """Where poison and exhausted messages end up."""
        return f"{self.main}.dead"

    def retry(self, attempt: int) -> str:
        """Where a message waits before its ``attempt + 1``-th delivery."""
        return f"{self.main}.retry.{attempt}"


async def declare_exchange(channel: AbstractChannel, name: str) -> AbstractExchange:
    """The durable topic exchange events are published to."""
    return await channel.declare_exchange(name, aio_pika.ExchangeType.TOPIC, durable=True)


def retry_delays(max_attempts: int, base_seconds: float, max_seconds: float) -> list[float]:
    """Delay before each redelivery: ``base * 2**(n-1)``, capped; one per retry."""
    return [min(max_seconds, base_seconds * 2 ** (n - 1)) for n in range(1, max_attempts)]


async def declare_consumer_queues(
    channel: AbstractChannel,
    exchange: AbstractExchange,
    queues: ConsumerQueues,
    routing_keys: tuple[str, ...],
    delays: list[float],
) -> AbstractQueue:
    """Declare (idempotently) the main, retry and dead-letter queues; returns the main one."""
    await channel.declare_queue(queues.dead, durable=True)
    main = await channel.declare_queue(
        queues.main,
        durable=True,
        arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": queues.dead},
    )
    for key in routing_keys:
        await main.bind(exchange, routing_key=key)
    for attempt, delay in enumerate(delays, start=1):
        await channel.declare_queue(
            queues.retry(attempt),
            durable=True,
            arguments={
                "x-message-ttl": max(1, int(delay * 1000)),
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": queues.main,
            },
        )
    return main
