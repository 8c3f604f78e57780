"""Test helpers: find the RabbitMQ server, give each test its own exchange, clean up after.

``TEST_RABBITMQ_URL`` (default ``amqp://guest:guest@127.0.0.1:5672/``). An
unreachable broker skips the test with the reason shown, except under
``REQUIRE_RABBITMQ=1`` (CI), where it fails.
"""

import os
import uuid
from collections.abc import Iterable

import aio_pika
import pytest

from servicekit.events.topology import ConsumerQueues

DEFAULT_URL = "amqp://guest:guest@127.0.0.1:5672/"


async def rabbitmq_url() -> str:
    """A reachable broker's URL (skips or fails as documented above)."""
    url = os.environ.get("TEST_RABBITMQ_URL", DEFAULT_URL)
    try:
        connection = await aio_pika.connect(url, timeout=5)
    except Exception as exc:
        reason = f"RabbitMQ not reachable at TEST_RABBITMQ_URL ({exc!r})"
        if os.environ.get("REQUIRE_RABBITMQ") == "1":
            pytest.fail(f"REQUIRE_RABBITMQ=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    await connection.close()
    return url


def unique_exchange() -> str:
    """An exchange name no other test (or parallel run) uses; queues are named after it."""
    return f"test.{uuid.uuid4().hex[:12]}"


async def delete_topology(
    url: str, exchange: str, queues: Iterable[ConsumerQueues], max_attempts: int
) -> None:
    """Delete a test's exchange and every queue its consumers declared."""
    connection = await aio_pika.connect(url, timeout=5)
    try:
        channel = await connection.channel()
        for consumer in queues:
            names = [consumer.main, consumer.dead]
            names += [consumer.retry(n) for n in range(1, max_attempts)]
            for name in names:
                await channel.queue_delete(name)
        await channel.exchange_delete(exchange)
    finally:
        await connection.close()


async def queue_depth(url: str, queue: str) -> int:
    """Messages ready in ``queue`` right now."""
    connection = await aio_pika.connect(url, timeout=5)
    try:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, passive=True)
        return int(declared.declaration_result.message_count or 0)
    finally:
        await connection.close()
