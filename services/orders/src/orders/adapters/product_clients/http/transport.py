"""Products' pooled client (servicekit's, at products' base URL) and the guarded client over it (ADR 0002, 0009)."""

import httpx

from orders.adapters.product_clients.backpressure import BulkheadFull
from orders.adapters.product_clients.http.client import HttpProductClient
from orders.adapters.product_clients.http.config import HttpClientConfig
from orders.adapters.product_clients.http.retries import RETRIES
from orders.adapters.product_clients.metrics import PROTECTION
from seam import work_started
from servicekit.http_client.pool import pooled_client
from servicekit.http_client.pool_guard import READINESS_TIMEOUT_SECONDS, guard_over_pool
from shop_contracts import paths
from shop_contracts.errors import ProductsUnavailable


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
    """An ``HttpProductClient`` over the process's pooled client, guarded as one pool of calls.

    The bulkhead admits as many calls as the pool has connections, so no call
    ever waits for a connection inside the transport (ADR 0009); the breaker
    asks products' ``/health/ready`` in every state (ADR 0024).
    """
    ready_url = config.base_url.rstrip("/") + "/health/ready"

    async def products_ready() -> httpx.Response:
        return await http.get(ready_url, timeout=READINESS_TIMEOUT_SECONDS)

    guard = guard_over_pool(
        PROTECTION.remote,
        metrics=PROTECTION,
        ready=products_ready,
        max_connections=config.max_connections,
        queue_timeout=config.queue_timeout,
        failure_threshold=config.breaker_failure_threshold,
        reset_seconds=config.breaker_reset_seconds,
        hang_seconds=config.hang_seconds,
        unavailable=ProductsUnavailable,
        refused=BulkheadFull,
        retries=RETRIES,
        work_started=work_started,  # the canary fallback judges products from the slot on
    )
    return HttpProductClient(
        http,
        service_token=config.service_token,
        guard=guard,
        retry=config.retry,
        deadline_seconds=config.deadline_seconds,
        read_deadline_seconds=config.read_deadline_seconds,
    )
