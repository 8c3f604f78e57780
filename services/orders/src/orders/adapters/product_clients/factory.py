"""The one place that turns ``APP_PRODUCTS_CLIENT`` into the product clients a process has (ADR 0025)."""

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from opentelemetry.trace import Tracer

from cutover.flags import FALLBACK_ACTOR, FlagStore, close_canary
from orders.adapters.product_clients.backpressure import BulkheadFull
from orders.adapters.product_clients.boundary import (
    COMPARER,
    FAILED_OUTCOMES,
    FLAGS,
    METHODS,
    error_code,
    outcome_of,
)
from orders.adapters.product_clients.http import (
    HttpClientConfig,
    HttpProductClient,
    build_http_client,
    build_http_product_client,
)
from orders.adapters.product_clients.local import LocalProductClient
from orders.adapters.product_clients.metrics import SEAM
from orders.config import FeatureFlags, ProductsClientMode, Settings
from orders.domain.product_client import ProductServiceClient
from seam import MODES, Fallback, Mode, Seam, Side, Thresholds
from servicekit.events.handlers import Subscription
from servicekit.health import ReadinessCheck
from servicekit.http_client.protect import CircuitBreaker
from servicekit.tracing import tracer

ProductsSeam = Seam[ProductServiceClient]


@dataclass(frozen=True, slots=True)
class ProductClients:
    """The implementations one process built at start-up, with what reports on them."""

    startup: ProductsClientMode
    local: ProductServiceClient | None = None
    http: ProductServiceClient | None = None
    local_report: ReadinessCheck | None = None
    http_report: ReadinessCheck | None = None
    # Products' event consumers, whenever products runs in this process (local built).
    subscriptions: tuple[Subscription, ...] = ()
    # The http client's breaker: the canary fallback follows its openings (ADR 0024).
    http_breaker: CircuitBreaker | None = None


async def build_product_clients(settings: Settings, stack: AsyncExitStack) -> ProductClients:
    """The implementations ``APP_PRODUCTS_CLIENT`` calls for, started; closed via ``stack``."""
    mode = settings.products_client
    needs = MODES[Mode(mode)].needs
    local: LocalProductClient | None = None
    if Side.LOCAL in needs:
        local = LocalProductClient.from_database_url(
            settings.products_database_url.get_secret_value(),
            reservation_ttl_seconds=settings.products_reservation_ttl_seconds,
            sweep_interval_seconds=settings.products_sweep_interval_seconds,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
        )
        await local.start(run_sweeper=settings.run_products_sweeper)
        stack.push_async_callback(local.aclose)
    remote: HttpProductClient | None = None
    if Side.REMOTE in needs:
        config = HttpClientConfig.from_settings(settings)
        http = build_http_client(config)
        stack.push_async_callback(http.aclose)
        remote = build_http_product_client(config, http)
        stack.push_async_callback(remote.guard.aclose)
        # Products' readiness is asked in every breaker state, requests or not (ADR 0024).
        remote.guard.start()
    return ProductClients(
        mode,
        local=local,
        http=remote,
        local_report=_local_report(local) if local else None,
        http_report=_guard_report(remote) if remote else None,
        subscriptions=local.subscriptions() if local else (),
        http_breaker=remote.guard.breaker if remote else None,
    )


def build_seam(
    clients: ProductClients,
    settings: Settings,
    store: FlagStore[FeatureFlags],
    stack: AsyncExitStack,
    clock: Callable[[], datetime],
) -> ProductsSeam:
    """Both implementations composed once; the canary fallback when there is local to fall to."""
    fallback = None
    if clients.local is not None and clients.http is not None:
        thresholds = Thresholds(
            window_seconds=settings.canary_fallback_window_seconds,
            min_calls=settings.canary_fallback_min_calls,
            max_error_rate=settings.canary_fallback_max_error_rate,
            max_p95_seconds=settings.canary_fallback_max_p95_seconds,
        )
        fallback = canary_fallback(store, thresholds, clock=clock)
    seam = product_seam(
        clients.startup,
        local=clients.local,
        remote=clients.http,
        shadow_timeout=settings.shadow_timeout_seconds,
        fallback=fallback,
        tracer=tracer("orders.product_client"),
    )
    stack.push_async_callback(seam.aclose)
    if clients.http_breaker is not None and seam.fallback is not None:
        clients.http_breaker.on_open(seam.remote_down)
    return seam


def canary_fallback(
    store: FlagStore[FeatureFlags],
    thresholds: Thresholds,
    *,
    clock: Callable[[], datetime],
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> Fallback:
    """The canary fallback over the flag store: its writes go through ``close_canary``."""

    async def close(reason: str, tripped_at: datetime) -> bool:
        return await close_canary(
            store, FLAGS, actor=FALLBACK_ACTOR, reason=reason, tripped_at=tripped_at
        )

    return Fallback(
        store.overrides,
        close,
        thresholds,
        SEAM,
        flags=FLAGS,
        outcome=outcome_of,
        failed=FAILED_OUTCOMES,
        not_judged=(BulkheadFull,),
        clock=clock,
        sleep=sleep,
    )


def product_seam(
    startup: ProductsClientMode,
    *,
    local: ProductServiceClient | None = None,
    remote: ProductServiceClient | None = None,
    shadow_timeout: float = 2.0,
    fallback: Fallback | None = None,
    tracer: Tracer | None = None,
) -> ProductsSeam:
    """The seam over products' implementations, with products' method table and comparer."""
    return Seam(
        METHODS,
        Mode(startup),
        local=local,
        remote=remote,
        metrics=SEAM,
        flags=FLAGS,
        outcome=outcome_of,
        error_code=error_code,
        comparer=COMPARER,
        shadow_timeout=shadow_timeout,
        fallback=fallback,
        tracer=tracer,
    )


def products_readiness(
    seam: ProductsSeam, clients: ProductClients, store: FlagStore[FeatureFlags]
) -> ReadinessCheck:
    """The ``products`` readiness check: the clients' health and the mode in force."""

    async def report() -> dict[str, Any]:
        local = await clients.local_report() if clients.local_report else None
        http = await clients.http_report() if clients.http_report else None
        if clients.local is None:
            return http or {"mode": ProductsClientMode.HTTP.value}
        if clients.http is None:
            return local or {"mode": ProductsClientMode.LOCAL.value}
        flags = store.current()
        # Local is authoritative (background work, the rest of the users), so
        # only its failure makes orders unready; http's state is reported.
        details: dict[str, Any] = {
            **(local or {}),
            "mode": flags.products_client.value,
            "canary_share": 0 if seam.holding else flags.canary_share,
            "candidate": http or {"mode": ProductsClientMode.HTTP.value},
        }
        state = seam.fallback.state() if seam.fallback is not None else None
        seam.publish(flags)
        if state is not None:
            # Still ready (local serves everyone), but not "up": an operator decides.
            details["status"] = "degraded"
            details["fallback"] = {"at": state.at.isoformat(), "reason": state.reason}
            if state.pending:
                details["fallback"]["pending"] = True
        return details

    return report


def _local_report(client: LocalProductClient) -> ReadinessCheck:
    """Readiness of the in-process products: its database answers."""

    async def report() -> dict[str, Any]:
        return {"mode": "local", **await client.ping()}

    return report


def _guard_report(client: HttpProductClient) -> ReadinessCheck:
    """Readiness detail for the HTTP client (breaker, probe, bulkhead), never a failure.

    Orders keeps serving reads (and answers 503 to new orders) while products is
    down, so an unreachable products is reported, not a reason to leave rotation.
    """

    async def report() -> dict[str, Any]:
        return client.guard.report()

    return report
