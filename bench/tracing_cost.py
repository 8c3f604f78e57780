"""What tracing costs in-process: tracing off vs on, per product-client call and per request.

No database and no network, so the figures isolate the tracing machinery:

- ``call``: one ``get_product`` through the seam's local chain over an inner client
  that answers at once: the bare inner client, the chain with tracing off
  (``tracer=None``, what ships by default), and with the SDK on (a batch
  processor handing spans to an exporter that drops them, so the export
  thread's work is counted but no I/O is).
- ``request``: ``GET`` through a FastAPI app with the shared plumbing and one
  observed call per request (``httpx.ASGITransport``), built with tracing off
  and with tracing on (server span + product-client span).

Variants alternate over several rounds so background load falls on all alike;
each line is the median over rounds of process CPU time (all threads) per
operation, in microseconds.

    uv run python bench/tracing_cost.py [--rounds 7] [--calls 20000] [--requests 2000]
"""

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID, uuid4

import httpx
from fastapi import FastAPI
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import Tracer

from orders.adapters.product_clients.factory import product_seam
from orders.config import ProductsClientMode
from orders.domain.product_client import ProductServiceClient
from servicekit.app import install_plumbing
from servicekit.settings import Environment, ServiceSettings
from servicekit.tracing import install_tracer_provider, new_tracer_provider, reset_tracing, tracer
from shop_contracts.products import Product

NOW = datetime(2026, 1, 1, tzinfo=UTC)


class _Dropping(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


class _Instant:
    """The cheapest possible inner client: one product, no I/O."""

    def __init__(self) -> None:
        self.product = Product(
            id=uuid4(),
            sku="SKU-1",
            name="Widget",
            description="",
            price=Decimal("1.00"),
            currency="EUR",
            stock_available=1,
            created_at=NOW,
            updated_at=NOW,
        )

    async def get_product(self, product_id: UUID) -> Product:
        return self.product


def _observed(inner: object, spans: Tracer | None = None) -> ProductServiceClient:
    seam = product_seam(ProductsClientMode.LOCAL, local=inner, tracer=spans)  # type: ignore[arg-type]
    assert seam.local is not None
    return seam.local


def _app(client: ProductServiceClient) -> FastAPI:
    app = FastAPI()

    @app.get("/product")
    async def product() -> dict[str, str]:
        found = await client.get_product(uuid4())
        return {"id": str(found.id)}

    settings = ServiceSettings(environment=Environment.TESTING, log_level="WARNING")
    install_plumbing(app, settings, "bench")
    return app


async def _cpu_per_op(
    run: Callable[[], Awaitable[None]], count: int, flush: Callable[[], object] | None
) -> float:
    start = time.process_time()
    for _ in range(count):
        await run()
    if flush is not None:
        flush()  # the export thread's work for these spans is counted here, not later
    return (time.process_time() - start) / count * 1e6


async def main(rounds: int, calls: int, requests: int) -> None:
    provider = new_tracer_provider("bench", environ={})
    provider.add_span_processor(BatchSpanProcessor(_Dropping()))
    inner = _Instant()
    product_id = uuid4()

    off_client = _observed(inner)
    off_app = _app(off_client)
    install_tracer_provider(provider)
    on_client = _observed(inner, tracer("bench"))
    on_app = _app(on_client)
    reset_tracing()

    async def bare() -> None:
        await inner.get_product(product_id)

    async def call_off() -> None:
        await off_client.get_product(product_id)

    async def call_on() -> None:
        await on_client.get_product(product_id)

    results: dict[str, list[float]] = {}
    off_http = httpx.AsyncClient(transport=httpx.ASGITransport(app=off_app), base_url="http://b")
    on_http = httpx.AsyncClient(transport=httpx.ASGITransport(app=on_app), base_url="http://b")
    async with off_http, on_http:

        async def request_off() -> None:
            (await off_http.get("/product")).raise_for_status()

        async def request_on() -> None:
            (await on_http.get("/product")).raise_for_status()

        variants: list[tuple[str, Callable[[], Awaitable[None]], int, bool]] = [
            ("call: inner client alone", bare, calls, False),
            ("call: observed, tracing off", call_off, calls, False),
            ("call: observed, tracing on", call_on, calls, True),
            ("request: tracing off", request_off, requests, False),
            ("request: tracing on", request_on, requests, True),
        ]
        for _ in range(rounds):
            for name, run, count, traced in variants:
                if traced:
                    install_tracer_provider(provider)
                else:
                    reset_tracing()
                flush = provider.force_flush if traced else None
                results.setdefault(name, []).append(await _cpu_per_op(run, count, flush))
    reset_tracing()
    provider.shutdown()
    for name, values in results.items():
        spread = f"{min(values):.1f}-{max(values):.1f}"
        print(f"{name:32} {statistics.median(values):8.1f} µs CPU  (rounds {spread})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=2_000)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.rounds, arguments.calls, arguments.requests))
