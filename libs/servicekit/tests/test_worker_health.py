"""The worker's readiness: 200 only while every consumer is attached and the event loop beats."""

import asyncio
import urllib.error
import urllib.request
from typing import Any

from servicekit.events.consumer import RabbitConsumer
from servicekit.events.handlers import Subscription
from servicekit.processes import free_port
from servicekit.worker_health import (
    READY_PATH,
    STALE_AFTER_SECONDS,
    WorkerHealth,
    start_worker_http,
)
from shop_contracts.events import OrderCancelled


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_ready_only_while_consuming_and_beating() -> None:
    clock = _Clock()
    health = WorkerHealth(clock)
    seen = [health.ready]  # no beat yet: still connecting

    health.beat(consuming=True)
    seen.append(health.ready)
    clock.now += STALE_AFTER_SECONDS + 1  # the event loop stopped beating
    seen.append(health.ready)
    health.beat(consuming=False)  # the broker connection dropped
    seen.append(health.ready)

    assert seen == [False, True, False, False]


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


async def test_the_port_serves_readiness_and_metrics() -> None:
    health, port = WorkerHealth(), free_port()
    server = start_worker_http(port, health, addr="127.0.0.1")
    base = f"http://127.0.0.1:{port}"
    try:
        not_ready = await asyncio.to_thread(_get, base + READY_PATH)
        health.beat(consuming=True)
        ready = await asyncio.to_thread(_get, base + READY_PATH)
        metrics = await asyncio.to_thread(_get, base + "/metrics")
    finally:
        server.shutdown()
        server.server_close()

    assert not_ready == (503, "not consuming\n")
    assert ready == (200, "consuming\n")
    assert metrics[0] == 200
    assert "# TYPE" in metrics[1]


class _Connection:
    def __init__(self) -> None:
        self.is_closed = False
        self.connected = asyncio.Event()


async def test_a_consumer_consumes_only_while_its_connection_is_up() -> None:
    async def handle(_event: Any) -> None:
        return None

    consumer = RabbitConsumer(
        "amqp://unused", "shop.events", Subscription("s", (OrderCancelled,), handle)
    )
    connection = _Connection()
    seen = [consumer.consuming]
    consumer._connection, consumer._tag = connection, "ctag"  # type: ignore[assignment]
    seen.append(consumer.consuming)  # connecting, or reconnecting after a loss
    connection.connected.set()
    seen.append(consumer.consuming)
    connection.connected.clear()  # the robust connection lost the broker
    seen.append(consumer.consuming)

    assert seen == [False, False, True, False]
