"""Micro-benchmark: which httpx transport should orders use to call products?

Starts a minimal products-like FastAPI JSON endpoint under uvicorn on
127.0.0.1 in a separate process, then drives GET requests at several
concurrency levels through:

- ``per-call``: a new ``httpx.AsyncClient`` per request (the anti-pattern),
- ``pooled-httpx``: the shipped factory with the default httpx transport,
- ``pooled-aiohttp``: the shipped factory with ``httpx_aiohttp.AiohttpTransport``,
- ``raw-aiohttp``: one ``aiohttp.ClientSession``, no httpx (the floor a Python
  client could reach here; not a shipped option),
- ``client-aiohttp``: the full ``HttpProductClient`` (retries, breaker, deadline,
  decoding into the DTO) over the pooled aiohttp client.

Beside req/s it reports the client process's CPU per request (``time.process_time``
around each round; the endpoint runs in its own process), the cost a call adds to
the caller.

Each cell stops after ``--requests`` requests or ``--seconds``, whichever comes
first, split over ``--rounds`` interleaved rounds, so a run is bounded (about
a minute) and background load hits every strategy alike. Prints a markdown table and
writes ``bench-results/client_transport.json``.

    uv run python bench/client_transport.py
"""

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any
from uuid import UUID

import aiohttp
import httpx
from pydantic import SecretStr

from orders.adapters.product_clients.http import (
    HttpClientConfig,
    build_http_client,
    build_http_product_client,
)
from orders.config import Settings
from servicekit.http_client.pool import HttpTransport
from servicekit.processes import ServerProcess, free_port
from servicekit.settings import Environment

PRODUCT_ID = UUID("6f1c2b9e-0d5a-4c1e-9f3b-2a7d8e4c5b61")
PRODUCT = {
    "id": str(PRODUCT_ID),
    "sku": "BENCH-1",
    "name": "Benchmark widget",
    "description": "A product-sized JSON body",
    "price": "19.90",
    "currency": "EUR",
    "stock_available": 42,
    "created_at": "2026-01-01T00:00:00Z",
    "updated_at": "2026-01-01T00:00:00Z",
}
PATH = f"/products/{PRODUCT_ID}"
RESULTS = Path("bench-results/client_transport.json")

Request = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class Cell:
    """One client strategy at one concurrency level, over all rounds."""

    client: str
    concurrency: int
    requests: int
    errors: int
    seconds: float
    rps: float
    rps_rounds: list[float]
    p50_ms: float
    p99_ms: float
    cpu_ms_per_request: float


@dataclass
class _Samples:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    rps_rounds: list[float] = field(default_factory=list)


def serve(port: int) -> None:
    """The products-like endpoint (runs in the child process)."""
    import uvicorn
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/api/v1/products/{product_id}")
    async def get_product(product_id: UUID) -> dict[str, Any]:
        return PRODUCT

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


async def _drive(
    request: Request, concurrency: int, max_requests: int, max_seconds: float, into: _Samples
) -> None:
    for _ in range(min(concurrency, 10)):  # warm up: open connections, import paths
        await request()
    latencies: list[float] = []
    errors = 0
    started = time.perf_counter()
    cpu_started = time.process_time()
    stop_at = started + max_seconds

    async def worker() -> None:
        nonlocal errors
        while len(latencies) + errors < max_requests and time.perf_counter() < stop_at:
            begin = time.perf_counter()
            try:
                await request()
            except Exception:
                errors += 1
                continue
            latencies.append(time.perf_counter() - begin)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    into.cpu_seconds += time.process_time() - cpu_started
    into.latencies += latencies
    into.errors += errors
    into.seconds += elapsed
    into.rps_rounds.append(round(len(latencies) / elapsed, 1))


async def _run(
    base_url: str, levels: list[int], max_requests: int, max_seconds: float, rounds: int
) -> list[Cell]:
    api = f"{base_url}/api/v1"

    async def per_call() -> None:
        async with httpx.AsyncClient(base_url=api) as http:
            (await http.get(PATH)).raise_for_status()

    httpx_settings = HttpClientConfig.from_settings(
        Settings(
            environment=Environment.TESTING,
            products_url=base_url,
            products_transport=HttpTransport.HTTPX,
        )
    )
    aiohttp_settings = HttpClientConfig.from_settings(
        Settings(
            environment=Environment.TESTING,
            products_url=base_url,
            products_transport=HttpTransport.AIOHTTP,
            service_token=SecretStr("bench-token"),
        )
    )
    async with (
        build_http_client(httpx_settings) as pooled_httpx,
        build_http_client(aiohttp_settings) as pooled_aiohttp,
        aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=aiohttp_settings.max_connections)
        ) as session,
    ):
        client = build_http_product_client(aiohttp_settings, pooled_aiohttp)

        async def client_get() -> None:
            await client.get_product(PRODUCT_ID)

        async def raw_get() -> None:
            async with session.get(f"{api}{PATH}") as response:
                response.raise_for_status()
                await response.json()

        strategies: dict[str, Request] = {
            "per-call": per_call,
            "pooled-httpx": _pooled_get(pooled_httpx),
            "pooled-aiohttp": _pooled_get(pooled_aiohttp),
            "raw-aiohttp": raw_get,
            "client-aiohttp": client_get,
        }
        samples = {(name, c): _Samples() for name in strategies for c in levels}
        # Rounds interleave the strategies so background load on a shared
        # machine hits all of them alike; req/s is the median over rounds.
        for _ in range(rounds):
            for name, request in strategies.items():
                for concurrency in levels:
                    await _drive(
                        request,
                        concurrency,
                        max_requests // rounds,
                        max_seconds / rounds,
                        samples[name, concurrency],
                    )
    return [_cell(name, concurrency, s) for (name, concurrency), s in samples.items()]


def _cell(name: str, concurrency: int, samples: _Samples) -> Cell:
    ordered = sorted(samples.latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else 0.0
    return Cell(
        client=name,
        concurrency=concurrency,
        requests=len(ordered),
        errors=samples.errors,
        seconds=round(samples.seconds, 3),
        rps=statistics.median(samples.rps_rounds),
        rps_rounds=samples.rps_rounds,
        p50_ms=round(statistics.median(ordered) * 1000, 2) if ordered else 0.0,
        p99_ms=round(p99 * 1000, 2),
        cpu_ms_per_request=round(1000 * samples.cpu_seconds / max(1, len(ordered)), 3),
    )


def _pooled_get(http: httpx.AsyncClient) -> Request:
    async def get() -> None:
        (await http.get(PATH)).raise_for_status()

    return get


def _table(cells: list[Cell]) -> str:
    lines = [
        "| client | concurrency | requests | errors | req/s (median of rounds) | p50 ms | p99 ms "
        "| client CPU ms/req |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {c.client} | {c.concurrency} | {c.requests} | {c.errors} | {c.rps:,.0f} "
        f"| {c.p50_ms:.2f} | {c.p99_ms:.2f} | {c.cpu_ms_per_request:.3f} |"
        for c in cells
    ]
    return "\n".join(lines)


def _loop_factory() -> tuple[str, Callable[[], asyncio.AbstractEventLoop] | None]:
    # orders runs under uvicorn, which uses uvloop when it is installed.
    try:
        import uvloop
    except ImportError:
        return "asyncio", None
    return "uvloop", uvloop.new_event_loop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--requests", type=int, default=3000, help="cap per cell")
    parser.add_argument("--seconds", type=float, default=4.0, help="time cap per cell")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return

    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    command = [sys.executable, __file__, "--serve", str(port)]
    server = ServerProcess("endpoint", command, base_url, ready_path=f"/api/v1{PATH}").start()
    try:
        server.wait_ready(timeout=15.0)
        loop_name, factory = _loop_factory()
        with asyncio.Runner(loop_factory=factory) as runner:
            load_before = os.getloadavg()
            cells = runner.run(
                _run(base_url, args.concurrency, args.requests, args.seconds, args.rounds)
            )
            load_after = os.getloadavg()
    finally:
        server.stop()

    print(_table(cells))
    print(
        f"\nevent loop: {loop_name}; load average (1 min) {load_before[0]:.2f} -> {load_after[0]:.2f}"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "event_loop": loop_name,
        "versions": {
            name: metadata.version(name)
            for name in ("httpx", "httpcore", "aiohttp", "httpx-aiohttp", "uvicorn", "fastapi")
        },
        "load_average_1m": {"before": load_before[0], "after": load_after[0]},
        "caps": {
            "requests_per_cell": args.requests,
            "seconds_per_cell": args.seconds,
            "rounds": args.rounds,
        },
        "cells": [asdict(c) for c in cells],
    }
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    main()
