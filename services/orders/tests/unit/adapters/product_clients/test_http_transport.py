"""The transport we ship: the factory's choices, how respx must mock it, and real sockets.

respx's default mocker patches httpcore, which ``AiohttpTransport`` never
touches, so a test written that way would silently hit the network. These
tests pin down which mocking works for the shipped transport and exercise the
aiohttp path end to end against a raw HTTP/1.1 server on 127.0.0.1.
"""

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

import httpx
import pytest
import respx
from httpx_aiohttp import AiohttpTransport

from orders.adapters.product_clients.http import (
    HttpClientConfig,
    HttpProductClient,
    build_http_client,
    build_http_product_client,
)
from orders.config import Settings
from servicekit.http_client.pool import HttpTransport, build_transport
from servicekit.http_client.protect import BreakerState
from servicekit.requestid import set_request_id
from shop_contracts.errors import ProductNotFound, ProductsUnavailable

Body = Callable[..., dict[str, Any]]
MakeSettings = Callable[..., Settings]
Metric = Callable[..., float]


@dataclass(frozen=True)
class RawRequest:
    """What the raw server received."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes


Responder = Callable[[RawRequest], Awaitable[tuple[int, bytes]]]


@dataclass
class RawServer:
    """A keep-alive HTTP/1.1 server on 127.0.0.1 whose answers come from ``respond``."""

    respond: Responder
    requests: list[RawRequest] = field(default_factory=list)
    connections: int = 0
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


async def _serve(
    server: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    server.connections += 1
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, *header_lines = head.decode("latin-1").split("\r\n")
            method, target, _ = request_line.split(" ", 2)
            headers = {
                name.strip().lower(): value.strip()
                for name, value in (line.split(":", 1) for line in header_lines if line)
            }
            length = int(headers.get("content-length", "0"))
            body = await reader.readexactly(length) if length else b""
            request = RawRequest(method, target, headers, body)
            server.requests.append(request)
            status, payload = await server.respond(request)
            writer.write(
                f"HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n"
                f"content-length: {len(payload)}\r\n\r\n".encode()
                + payload
            )
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


@pytest.fixture
async def raw_server() -> AsyncIterator[RawServer]:
    async def unconfigured(_: RawRequest) -> tuple[int, bytes]:
        return 500, b"{}"

    state = RawServer(unconfigured)
    handlers: set[asyncio.Task[Any]] = set()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.add(task)
        try:
            await _serve(state, reader, writer)
        finally:
            handlers.discard(task)

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    state.port = server.sockets[0].getsockname()[1]
    yield state
    server.close()
    for task in list(handlers):
        task.cancel()
    await asyncio.gather(*handlers, return_exceptions=True)
    await server.wait_closed()


@pytest.fixture
def closed_port() -> int:
    """A local port nothing listens on, so connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _json(body: object) -> bytes:
    return json.dumps(body).encode()


async def test_factory_builds_the_configured_client(make_settings: MakeSettings) -> None:
    settings = make_settings(products_connect_timeout=0.7, products_read_timeout=1.5)

    async with build_http_client(HttpClientConfig.from_settings(settings)) as http:
        assert str(http.base_url) == "http://products.test/api/v1/"
        assert http.timeout.connect == 0.7
        assert http.timeout.read == 1.5
        assert http.timeout.pool == settings.products_pool_timeout


def test_aiohttp_is_the_default_transport() -> None:
    assert Settings.model_fields["products_transport"].default is HttpTransport.AIOHTTP
    assert isinstance(build_transport(HttpTransport.AIOHTTP, 5), AiohttpTransport)
    assert isinstance(build_transport(HttpTransport.HTTPX, 5), httpx.AsyncHTTPTransport)


async def test_respx_httpx_mocker_intercepts_the_shipped_aiohttp_client(
    make_settings: MakeSettings, product_body: Body
) -> None:
    config = HttpClientConfig.from_settings(make_settings())
    product_id = uuid4()
    async with build_http_client(config) as http:
        client = build_http_product_client(config, http)
        with respx.mock(using="httpx", base_url="http://products.test/api/v1") as mock:
            route = mock.get(f"/products/{product_id}").respond(200, json=product_body(product_id))

            product = await client.get_product(product_id)

    assert route.call_count == 1
    assert product.id == product_id


async def test_respx_default_mocker_does_not_intercept_aiohttp(
    make_settings: MakeSettings, closed_port: int
) -> None:
    # The pitfall this suite avoids: the httpcore mocker never sees the
    # request, which really goes out (here, to a closed port).
    url = f"http://127.0.0.1:{closed_port}"
    config = HttpClientConfig.from_settings(
        make_settings(products_url=url, products_max_attempts=1)
    )
    async with build_http_client(config) as http:
        client = build_http_product_client(config, http)
        with respx.mock(assert_all_called=False) as mock:
            route = mock.route(host="127.0.0.1").respond(200, json={})

            with pytest.raises(ProductsUnavailable):
                await client.get_product(uuid4())

    assert not route.called


@pytest.fixture(params=[HttpTransport.AIOHTTP, HttpTransport.HTTPX])
def transport(request: pytest.FixtureRequest) -> HttpTransport:
    value: HttpTransport = request.param
    return value


async def _client_for(settings: Settings) -> tuple[httpx.AsyncClient, HttpProductClient]:
    config = HttpClientConfig.from_settings(settings)
    http = build_http_client(config)
    return http, build_http_product_client(config, http)


async def test_real_server_round_trip_with_headers_and_pooling(
    raw_server: RawServer,
    make_settings: MakeSettings,
    product_body: Body,
    transport: HttpTransport,
) -> None:
    product_id = uuid4()

    async def respond(request: RawRequest) -> tuple[int, bytes]:
        return 200, _json(product_body(product_id))

    raw_server.respond = respond
    settings = make_settings(products_url=raw_server.url, products_transport=transport)
    http, client = await _client_for(settings)
    set_request_id("req-e2e-1")
    try:
        for _ in range(3):
            assert (await client.get_product(product_id)).id == product_id
    finally:
        set_request_id(None)
        await http.aclose()

    request = raw_server.requests[-1]
    assert request.method == "GET"
    assert request.target == f"/api/v1/products/{product_id}"
    assert request.headers["authorization"] == "Bearer test-service-token-0123456789"
    assert request.headers["x-request-id"] == "req-e2e-1"
    assert raw_server.connections == 1  # one pooled keep-alive connection


async def test_real_server_post_body_and_problem_mapping(
    raw_server: RawServer, make_settings: MakeSettings, transport: HttpTransport
) -> None:
    unknown = uuid4()

    async def respond(request: RawRequest) -> tuple[int, bytes]:
        problem = {
            "title": "Product not found",
            "status": 404,
            "code": "product_not_found",
            "product_ids": [str(unknown)],
        }
        return 404, _json(problem)

    raw_server.respond = respond
    settings = make_settings(products_url=raw_server.url, products_transport=transport)
    http, client = await _client_for(settings)
    try:
        with pytest.raises(ProductNotFound) as caught:
            await client.get_product(unknown)
    finally:
        await http.aclose()

    assert caught.value.product_ids == [unknown]


async def test_connection_refused_is_retried_then_unavailable(
    closed_port: int, make_settings: MakeSettings, transport: HttpTransport, metric: Metric
) -> None:
    settings = make_settings(
        products_url=f"http://127.0.0.1:{closed_port}",
        products_transport=transport,
        products_max_attempts=3,
        products_retry_initial_backoff=0.01,
        products_retry_max_backoff=0.02,
    )
    before = metric("orders_product_client_retries_total", method="get_product", reason="connect")
    http, client = await _client_for(settings)
    try:
        with pytest.raises(ProductsUnavailable, match="unreachable"):
            await client.get_product(uuid4())
    finally:
        await http.aclose()

    after = metric("orders_product_client_retries_total", method="get_product", reason="connect")
    assert after == before + 2


async def test_hanging_server_hits_the_deadline(
    raw_server: RawServer, make_settings: MakeSettings, transport: HttpTransport
) -> None:
    async def hang(_: RawRequest) -> tuple[int, bytes]:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    raw_server.respond = hang
    settings = make_settings(
        products_url=raw_server.url,
        products_transport=transport,
        products_read_timeout=30,
        products_deadline_seconds=0.3,
    )
    http, client = await _client_for(settings)
    start = time.perf_counter()
    try:
        with pytest.raises(ProductsUnavailable, match="within"):
            await client.get_product(uuid4())
    finally:
        await http.aclose()

    assert 0.25 < time.perf_counter() - start < 0.8
    assert len(raw_server.requests) == 1


async def test_read_timeout_on_real_socket_is_retried_for_reads(
    raw_server: RawServer, make_settings: MakeSettings, transport: HttpTransport, product_body: Body
) -> None:
    product_id = uuid4()

    async def slow_then_fast(_: RawRequest) -> tuple[int, bytes]:
        if len(raw_server.requests) == 1:
            await asyncio.sleep(1)
        return 200, _json(product_body(product_id))

    raw_server.respond = slow_then_fast
    settings = make_settings(
        products_url=raw_server.url,
        products_transport=transport,
        products_read_timeout=0.1,
        products_retry_initial_backoff=0.01,
    )
    http, client = await _client_for(settings)
    try:
        assert (await client.get_product(product_id)).id == product_id
    finally:
        await http.aclose()

    assert len(raw_server.requests) == 2


async def test_the_pool_opens_at_most_max_connections(
    raw_server: RawServer, make_settings: MakeSettings, transport: HttpTransport
) -> None:
    release, two_arrived = asyncio.Event(), asyncio.Event()

    async def held(_: RawRequest) -> tuple[int, bytes]:
        if len(raw_server.requests) >= 2:
            two_arrived.set()
        await release.wait()
        return 200, b"{}"

    raw_server.respond = held
    settings = make_settings(
        products_url=raw_server.url, products_transport=transport, products_max_connections=2
    )
    async with build_http_client(HttpClientConfig.from_settings(settings)) as http:
        calls = [asyncio.create_task(http.get("/anything")) for _ in range(5)]
        await two_arrived.wait()
        await asyncio.sleep(0.1)
        assert raw_server.connections == 2
        release.set()
        await asyncio.gather(*calls)

    assert len(raw_server.requests) == 5


async def test_a_burst_beyond_the_pool_queues_and_every_call_succeeds(
    raw_server: RawServer,
    make_settings: MakeSettings,
    transport: HttpTransport,
    product_body: Body,
) -> None:
    # A busy products (each answer takes 0.1 s) and five times more calls than
    # connections: a wait for a connection must be back-pressure, not a failure.
    product_id = uuid4()

    async def slow(_: RawRequest) -> tuple[int, bytes]:
        await asyncio.sleep(0.1)
        return 200, _json(product_body(product_id))

    raw_server.respond = slow
    settings = make_settings(
        products_url=raw_server.url,
        products_transport=transport,
        products_max_connections=2,
        products_pool_timeout=0.05,
        products_breaker_failure_threshold=1,
    )
    http, client = await _client_for(settings)
    try:
        products = await asyncio.gather(*(client.get_product(product_id) for _ in range(10)))
    finally:
        await http.aclose()

    assert [p.id for p in products] == [product_id] * 10
    assert raw_server.connections <= 2
    assert client.guard.breaker.state is BreakerState.CLOSED


async def test_a_full_bulkhead_answers_unavailable_without_tripping_the_breaker(
    raw_server: RawServer, make_settings: MakeSettings, transport: HttpTransport
) -> None:
    release, arrived = asyncio.Event(), asyncio.Event()

    async def held(_: RawRequest) -> tuple[int, bytes]:
        arrived.set()
        await release.wait()
        return 404, _json({"title": "x", "status": 404, "code": "product_not_found"})

    raw_server.respond = held
    settings = make_settings(
        products_url=raw_server.url,
        products_transport=transport,
        products_max_connections=1,
        products_queue_timeout=0.1,
        products_breaker_failure_threshold=1,
    )
    http, client = await _client_for(settings)
    try:
        first = asyncio.create_task(client.get_product(uuid4()))
        await arrived.wait()
        with pytest.raises(ProductsUnavailable, match="stayed busy"):
            await client.get_product(uuid4())
        assert client.guard.breaker.state is BreakerState.CLOSED
        release.set()
        with pytest.raises(ProductNotFound):
            await first
    finally:
        await http.aclose()

    assert len(raw_server.requests) == 1
