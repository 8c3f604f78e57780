"""The one place that turns ``APP_PRODUCTS_CLIENT`` into a product client.

Whatever the mode, the client handed out is wrapped in ``ObservedProductClient``,
so every mode records the same span and metric series (``mode`` tells them apart).
"""

from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

from orders.adapters.product_clients.breaker import BreakerState
from orders.adapters.product_clients.http import (
    HttpClientConfig,
    HttpProductClient,
    build_http_client,
    build_http_product_client,
)
from orders.adapters.product_clients.local import LocalProductClient
from orders.adapters.product_clients.observed import ObservedProductClient
from orders.adapters.product_clients.shadow import ShadowProductClient
from orders.config import ProductsClientMode, Settings
from orders.domain.product_client import ProductServiceClient
from servicekit.events.handlers import Subscription
from servicekit.health import ReadinessCheck
from servicekit.tracing import tracer


@dataclass(frozen=True, slots=True)
class BuiltProductClient:
    """A product client plus the readiness check that reports on it."""

    client: ProductServiceClient
    readiness: ReadinessCheck
    # Products' event consumers, when products runs in this process (local, shadow).
    subscriptions: tuple[Subscription, ...] = ()


async def build_product_client(settings: Settings, stack: AsyncExitStack) -> BuiltProductClient:
    """The configured client, started; everything it opened is closed via ``stack``."""
    mode = settings.products_client
    spans = tracer("orders.product_client")
    local: LocalProductClient | None = None
    if mode in (ProductsClientMode.LOCAL, ProductsClientMode.SHADOW):
        local = LocalProductClient.from_database_url(
            settings.products_database_url.get_secret_value(),
            reservation_ttl_seconds=settings.products_reservation_ttl_seconds,
            sweep_interval_seconds=settings.products_sweep_interval_seconds,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
        )
        await local.start(run_sweeper=settings.run_products_sweeper)
        stack.push_async_callback(local.aclose)
        if mode is ProductsClientMode.LOCAL:
            return BuiltProductClient(
                ObservedProductClient(local, mode.value, spans),
                _local_report(local),
                local.subscriptions(),
            )

    config = HttpClientConfig.from_settings(settings)
    http = build_http_client(config)
    stack.push_async_callback(http.aclose)
    remote = build_http_product_client(config, http)
    if local is None:
        return BuiltProductClient(
            ObservedProductClient(remote, mode.value, spans), _breaker_report(remote)
        )

    shadow = ShadowProductClient(
        local,
        # The candidate's calls keep their own ``http`` series and spans.
        ObservedProductClient(remote, ProductsClientMode.HTTP.value, spans),
        settings.shadow_timeout_seconds,
        sample_rate=settings.shadow_sample_rate,
        tracer=spans,
    )
    stack.push_async_callback(shadow.aclose)
    local_report = _local_report(local)
    breaker_report = _breaker_report(remote)

    async def shadow_ready() -> dict[str, Any]:
        # Local is authoritative, so only its failure makes orders unready.
        return {**await local_report(), "mode": "shadow", "candidate": await breaker_report()}

    return BuiltProductClient(
        ObservedProductClient(shadow, mode.value, spans), shadow_ready, local.subscriptions()
    )


def _local_report(client: LocalProductClient) -> ReadinessCheck:
    """Readiness of the in-process products: its database answers."""

    async def report() -> dict[str, Any]:
        return {"mode": "local", **await client.ping()}

    return report


def _breaker_report(client: HttpProductClient) -> ReadinessCheck:
    """Readiness detail for the HTTP client: the breaker state, never a failure.

    Orders keeps serving reads (and answers 503 problems for new orders) while
    products is down, so an unreachable products service is reported, not
    made a reason to take orders out of rotation.
    """

    async def report() -> dict[str, Any]:
        state = client.breaker.state
        details: dict[str, Any] = {"mode": "http", "breaker": state.name.lower()}
        if state is not BreakerState.CLOSED:
            # Ready, but not "up": new orders fail fast until products recovers.
            details["status"] = "degraded"
        return details

    return report
