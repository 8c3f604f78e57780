"""The one place that turns ``APP_PRODUCTS_CLIENT`` into the product clients a process has.

The start-up mode decides which clients exist: local → the in-process one only,
http → the HTTP one only, shadow or canary → both, so that every run-time mode
(the ``products_client`` flag, ``ProductClientRouter``) can be chosen without a
restart. Each client is built once and wrapped in ``ObservedProductClient``, so
every mode records the same span and metric series: the local path's calls
under ``mode="local"``, the http path's under ``mode="http"``, and shadow reads
under ``mode="shadow"`` (their mirrored candidate is the same observed http
client, so its calls stay ``mode="http"``).
"""

from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

from opentelemetry.trace import Tracer

from orders.adapters.product_clients.breaker import BreakerState, CircuitBreaker
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
class ProductClients:
    """The product clients one process built at start-up, with what reports on them.

    ``local`` and ``http`` are observed (``mode`` ``local`` and ``http``);
    ``shadow`` is the bare comparing client (local primary, the observed http
    client as candidate) when both exist, which the router observes as ``shadow``
    at the request's sample rate.
    """

    startup: ProductsClientMode
    local: ProductServiceClient | None = None
    http: ProductServiceClient | None = None
    shadow: ShadowProductClient | None = None
    local_report: ReadinessCheck | None = None
    http_report: ReadinessCheck | None = None
    # Products' event consumers, whenever products runs in this process (local built).
    subscriptions: tuple[Subscription, ...] = ()
    tracer: Tracer | None = None
    # The http client's breaker: the canary fallback follows its openings (ADR 0024).
    http_breaker: CircuitBreaker | None = None

    def __post_init__(self) -> None:
        if self.local is None and self.http is None:
            raise ValueError("at least one product client is needed")
        if self.local is not None and self.http is not None and self.shadow is None:
            raise ValueError("with both clients, the shadow client is needed too")


async def build_product_clients(settings: Settings, stack: AsyncExitStack) -> ProductClients:
    """The clients ``APP_PRODUCTS_CLIENT`` calls for, started; closed via ``stack``."""
    mode = settings.products_client
    spans = tracer("orders.product_client")
    local: LocalProductClient | None = None
    if mode is not ProductsClientMode.HTTP:
        local = LocalProductClient.from_database_url(
            settings.products_database_url.get_secret_value(),
            reservation_ttl_seconds=settings.products_reservation_ttl_seconds,
            sweep_interval_seconds=settings.products_sweep_interval_seconds,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
        )
        await local.start(run_sweeper=settings.run_products_sweeper)
        stack.push_async_callback(local.aclose)
        observed_local = ObservedProductClient(local, ProductsClientMode.LOCAL.value, spans)
        if mode is ProductsClientMode.LOCAL:
            return ProductClients(
                mode,
                local=observed_local,
                local_report=_local_report(local),
                subscriptions=local.subscriptions(),
                tracer=spans,
            )

    config = HttpClientConfig.from_settings(settings)
    http = build_http_client(config)
    stack.push_async_callback(http.aclose)
    remote = build_http_product_client(config, http)
    stack.push_async_callback(remote.breaker.aclose)
    # Products' readiness is asked in every breaker state, requests or not (ADR 0024).
    remote.breaker.start()
    if remote.hang_watch is not None:
        stack.push_async_callback(remote.hang_watch.aclose)
    observed_http = ObservedProductClient(remote, ProductsClientMode.HTTP.value, spans)
    if local is None:
        return ProductClients(
            mode,
            http=observed_http,
            http_report=_breaker_report(remote),
            tracer=spans,
            http_breaker=remote.breaker,
        )

    shadow = ShadowProductClient(
        local,
        # The candidate is the http path's own client: its calls keep the ``http`` series.
        observed_http,
        settings.shadow_timeout_seconds,
        sample_rate=settings.shadow_sample_rate,
        tracer=spans,
    )
    stack.push_async_callback(shadow.aclose)
    return ProductClients(
        mode,
        local=observed_local,
        http=observed_http,
        shadow=shadow,
        local_report=_local_report(local),
        http_report=_breaker_report(remote),
        subscriptions=local.subscriptions(),
        tracer=spans,
        http_breaker=remote.breaker,
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
        breaker = client.breaker
        state = breaker.state
        details: dict[str, Any] = {"mode": "http", "breaker": state.name.lower()}
        if state is not BreakerState.CLOSED:
            # Ready, but not "up": new orders fail fast until products recovers.
            details["status"] = "degraded"
            details["opened_because"] = breaker.open_reason
        probe = breaker.last_probe
        if probe is not None and not probe.ready:
            details["status"] = "degraded"  # the calls may not have noticed yet
        if probe is not None:
            # What orders' own check of products' /health/ready saw, and when.
            details["probe"] = {
                "ready": probe.ready,
                "at": probe.at.isoformat(),
                "seconds": round(probe.seconds, 4),
                **({"error": probe.error} if probe.error else {}),
            }
        bulkhead = client.bulkhead
        details["limit"] = bulkhead.limit
        details["in_flight"] = bulkhead.in_flight
        return details

    return report
