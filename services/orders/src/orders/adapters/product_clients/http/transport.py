"""Products' pooled client (servicekit's, at products' base URL) and the guarded client over it (ADR 0002, 0009)."""

import asyncio
import math

import httpx

from orders.adapters.product_clients.backpressure import BulkheadFull
from orders.adapters.product_clients.http.client import HttpProductClient
from orders.adapters.product_clients.http.config import HttpClientConfig
from orders.adapters.product_clients.metrics import SEAM
from seam.protect import AdaptiveLimit, Bulkhead, CircuitBreaker, HangWatch
from servicekit.http_client.pool import pooled_client
from shop_contracts import paths
from shop_contracts.errors import ProductsUnavailable

READINESS_INTERVAL_SECONDS = 0.25
"""How often an open breaker asks products' ``/health/ready`` (ADR 0019)."""
READINESS_CLOSED_INTERVAL_SECONDS = 1.0
"""How often a closed breaker asks it, so readiness reports what is true now (ADR 0024)."""
READINESS_TIMEOUT_SECONDS = 1.0
MIN_LIMIT_SHARE = 0.25
"""The adaptive limit never drops below this share of the connections (ADR 0024)."""


def build_http_client(config: HttpClientConfig) -> httpx.AsyncClient:
    """The one pooled client per process (build in lifespan, ``aclose`` on shutdown)."""
    return pooled_client(
        config.base_url.rstrip("/") + paths.API_PREFIX,
        httpx.Timeout(
            connect=config.connect_timeout,
            read=config.read_timeout,
            write=config.read_timeout,
            pool=config.pool_timeout,
        ),
        transport=config.transport,
        max_connections=config.max_connections,
        user_agent="orders-product-client",
    )


def build_http_product_client(
    config: HttpClientConfig, http: httpx.AsyncClient
) -> HttpProductClient:
    """An ``HttpProductClient`` over the process's pooled client.

    The bulkhead admits as many calls as the pool has connections, so no call
    ever waits for a connection inside the transport (ADR 0009).
    """
    ready_url = config.base_url.rstrip("/") + "/health/ready"
    limit = AdaptiveLimit(
        config.max_connections,
        min_limit=max(1, math.ceil(config.max_connections * MIN_LIMIT_SHARE)),
    )
    breaker = CircuitBreaker(
        config.breaker_failure_threshold,
        config.breaker_reset_seconds,
        name=SEAM.remote,
        metrics=SEAM,
        unavailable=ProductsUnavailable,
        readiness_interval=READINESS_INTERVAL_SECONDS,
        closed_interval=READINESS_CLOSED_INTERVAL_SECONDS,
    )
    hangs = HangWatch(
        breaker.trip,
        name=SEAM.remote,
        baseline=lambda: limit.baseline_seconds,
        floor_seconds=config.hang_seconds,
    )

    async def products_ready() -> bool:
        # Past the bulkhead and the breaker: one small GET, in every breaker state.
        async with asyncio.timeout(READINESS_TIMEOUT_SECONDS):
            response = await http.get(ready_url, timeout=READINESS_TIMEOUT_SECONDS)
        hangs.progress()  # products answered: whatever it said, it is not frozen
        return response.status_code == 200

    breaker.watch(products_ready)
    return HttpProductClient(
        http,
        service_token=config.service_token,
        breaker=breaker,
        bulkhead=Bulkhead(
            config.max_connections,
            config.queue_timeout,
            name=SEAM.remote,
            metrics=SEAM,
            refused=BulkheadFull,
            adaptive=limit,
        ),
        retry=config.retry,
        deadline_seconds=config.deadline_seconds,
        read_deadline_seconds=config.read_deadline_seconds,
        hang_watch=hangs,
    )
