"""Composition root: ``create_app`` builds nothing; the lifespan builds everything.

Run with ``uvicorn --factory orders.main:create_app``. Tests pass fakes for any
collaborator (product client, notifications, payments, external HTTP client,
clock, fault hook) and the lifespan uses them instead of building its own.
"""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from orders.adapters.backends import (
    external_http_client,
    needs_external_http,
    notifications_backend,
    payments_backend,
)
from orders.adapters.db.migrate import upgrade_orders_database
from orders.adapters.db.queries import SqlOrderQueries
from orders.adapters.db.unit_of_work import SqlAlchemyUnitOfWork
from orders.adapters.faults import after_reserve_fault
from orders.adapters.metrics import record_reconcile
from orders.adapters.outbox.relay import OutboxRelay
from orders.adapters.product_clients.breaker import BreakerState
from orders.adapters.product_clients.http import (
    HttpClientConfig,
    HttpProductClient,
    build_http_client,
    build_http_product_client,
)
from orders.adapters.product_clients.local import LocalProductClient
from orders.adapters.product_clients.shadow import ShadowProductClient
from orders.application.cancel_order import CancelOrderHandler
from orders.application.event_bus import EventBus
from orders.application.event_handlers import ORDER_CONFIRMATION_EMAIL, order_confirmation_email
from orders.application.pay_order import PayOrderHandler
from orders.application.place_order import AfterReserveHook, PlaceOrderHandler
from orders.application.reconciler import PendingOrderReconciler
from orders.application.unit_of_work import UnitOfWork
from orders.application.update_status import UpdateOrderStatusHandler
from orders.config import FeatureFlags, ProductsClientMode, Settings
from orders.domain.events import OrderPlaced
from orders.domain.ports import NotificationPort, PaymentPort
from orders.domain.product_client import ProductServiceClient
from orders.entrypoints.container import Container
from orders.entrypoints.routers import discover
from products.facade import upgrade_database
from servicekit.app import install_plumbing
from servicekit.clock import Clock, utc_now
from servicekit.db import autocommit_engine, create_engine, ping, session_factory
from servicekit.docs import service_app
from servicekit.health import ReadinessCheck
from servicekit.periodic import PeriodicTask

SERVICE = "orders"
_DESCRIPTION = (
    "Place orders against the product catalogue, follow and cancel them. Every"
    " operation needs a user JWT (`Authorization: Bearer ...`; `just token USER`"
    " mints one for development). Errors are RFC 9457 `application/problem+json`"
    " with a stable `code`."
)


@dataclass(frozen=True, slots=True)
class BuiltProductClient:
    """A product client plus the readiness check that reports on it."""

    client: ProductServiceClient
    readiness: ReadinessCheck


@dataclass(frozen=True, slots=True)
class Overrides:
    """Collaborators a caller (usually a test) supplies instead of the configured ones."""

    product_client: ProductServiceClient | None = None
    products_readiness: ReadinessCheck | None = None
    notifications: NotificationPort | None = None
    payments: PaymentPort | None = None
    http_client: httpx.AsyncClient | None = None
    after_reserve: AfterReserveHook | None = None
    clock: Clock = field(default=utc_now)


async def _build_product_client(settings: Settings, stack: AsyncExitStack) -> BuiltProductClient:
    """The one place that turns ``APP_PRODUCTS_CLIENT`` into a client; closes it via ``stack``."""
    mode = settings.products_client
    local: LocalProductClient | None = None
    if mode in (ProductsClientMode.LOCAL, ProductsClientMode.SHADOW):
        local = LocalProductClient.from_database_url(
            settings.products_database_url,
            reservation_ttl_seconds=settings.products_reservation_ttl_seconds,
            sweep_interval_seconds=settings.products_sweep_interval_seconds,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
        )
        await local.start(run_sweeper=settings.run_products_sweeper)
        stack.push_async_callback(local.aclose)
        if mode is ProductsClientMode.LOCAL:
            return BuiltProductClient(local, local.ping)

    config = HttpClientConfig.from_settings(settings)
    http = build_http_client(config)
    stack.push_async_callback(http.aclose)
    remote = build_http_product_client(config, http)
    if local is None:
        return BuiltProductClient(remote, _breaker_report(remote))

    shadow = ShadowProductClient(
        local,
        remote,
        settings.shadow_timeout_seconds,
        sample_rate=settings.shadow_sample_rate,
    )
    stack.push_async_callback(shadow.aclose)
    local_ping = local.ping
    breaker_report = _breaker_report(remote)

    async def shadow_ready() -> dict[str, Any]:
        # Local is authoritative, so only its failure makes orders unready.
        return {**await local_ping(), "candidate": await breaker_report()}

    return BuiltProductClient(shadow, shadow_ready)


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


async def _injected_products_ready() -> dict[str, str]:
    return {"mode": "injected"}


def _lifespan(
    settings: Settings, flags: FeatureFlags, overrides: Overrides
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            await _start(app, settings, flags, overrides, stack)
            yield

    return lifespan


async def _start(
    app: FastAPI,
    settings: Settings,
    flags: FeatureFlags,
    overrides: Overrides,
    stack: AsyncExitStack,
) -> None:
    if settings.run_migrations_on_startup:
        await upgrade_orders_database(settings.database_url)
    engine = create_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        echo=settings.db_echo,
    )
    stack.push_async_callback(engine.dispose)
    read_engine = engine
    if settings.read_database_url and settings.read_database_url != settings.database_url:
        read_engine = create_engine(
            settings.read_database_url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
        )
        stack.push_async_callback(read_engine.dispose)
    sessions = session_factory(engine)
    clock = overrides.clock

    if overrides.product_client is not None:
        built = BuiltProductClient(
            overrides.product_client, overrides.products_readiness or _injected_products_ready
        )
    else:
        if (
            settings.run_migrations_on_startup
            and settings.products_client is ProductsClientMode.LOCAL
        ):
            await upgrade_database(settings.products_database_url)
        built = await _build_product_client(settings, stack)
    products = built.client

    http = overrides.http_client
    if http is None and needs_external_http(settings):
        http = external_http_client(settings)
        stack.push_async_callback(http.aclose)
    notifications = overrides.notifications or notifications_backend(settings, http)
    payments = overrides.payments or payments_backend(settings, http)

    def uow() -> UnitOfWork:
        return SqlAlchemyUnitOfWork(sessions, clock)

    read_sessions = session_factory(autocommit_engine(engine))

    def read_uow() -> UnitOfWork:
        return SqlAlchemyUnitOfWork(read_sessions, clock)

    bus = EventBus()
    if flags.confirmation_email:
        bus.subscribe(
            OrderPlaced, ORDER_CONFIRMATION_EMAIL, order_confirmation_email(notifications)
        )

    app.state.container = Container(
        settings=settings,
        flags=flags,
        products=products,
        place_order=PlaceOrderHandler(
            uow=uow,
            read_uow=read_uow,
            products=products,
            max_items=flags.max_items_per_order,
            clock=clock,
            after_reserve=overrides.after_reserve or after_reserve_fault(settings.fault_injection),
        ),
        cancel_order=CancelOrderHandler(uow=uow, products=products, payments=payments, clock=clock),
        pay_order=PayOrderHandler(uow=uow, payments=payments, clock=clock),
        update_status=UpdateOrderStatusHandler(uow=uow, clock=clock),
        queries=SqlOrderQueries(
            session_factory(read_engine), session_factory(autocommit_engine(read_engine))
        ),
    )
    app.state.event_bus = bus
    app.state.readiness["database"] = lambda: ping(engine)
    app.state.readiness["products"] = built.readiness

    tasks: list[PeriodicTask] = []
    if settings.run_outbox_relay:
        relay = OutboxRelay(
            sessions,
            bus,
            max_attempts=settings.outbox_max_attempts,
            lease_seconds=settings.outbox_lease_seconds,
            backoff_base_seconds=settings.outbox_backoff_seconds,
            clock=clock,
        )
        tasks.append(
            PeriodicTask("outbox-relay", settings.outbox_poll_interval_seconds, relay.drain)
        )
    if settings.run_reconciler:
        reconciler = PendingOrderReconciler(
            uow=uow,
            products=products,
            grace=timedelta(seconds=settings.reconcile_grace_seconds),
            clock=clock,
        )

        async def reconcile() -> None:
            record_reconcile(await reconciler.run_once())

        tasks.append(
            PeriodicTask("order-reconciler", settings.reconcile_interval_seconds, reconcile)
        )
    for task in tasks:
        task.start()
        stack.push_async_callback(task.stop)


def create_app(
    settings: Settings | None = None,
    *,
    flags: FeatureFlags | None = None,
    product_client: ProductServiceClient | None = None,
    products_readiness: ReadinessCheck | None = None,
    notifications: NotificationPort | None = None,
    payments: PaymentPort | None = None,
    http_client: httpx.AsyncClient | None = None,
    after_reserve: AfterReserveHook | None = None,
    clock: Clock | None = None,
) -> FastAPI:
    """The orders ASGI app; nothing is connected until the lifespan starts."""
    settings = settings or Settings()
    flags = flags or FeatureFlags()
    overrides = Overrides(
        product_client=product_client,
        products_readiness=products_readiness,
        notifications=notifications,
        payments=payments,
        http_client=http_client,
        after_reserve=after_reserve,
        clock=clock or utc_now,
    )
    app = service_app(
        title="Orders service",
        summary="Order placement and lifecycle",
        description=_DESCRIPTION,
        version="1.0.0",
        lifespan=_lifespan(settings, flags, overrides),
    )
    install_plumbing(app, settings, SERVICE)
    for router in discover():
        app.include_router(router)
    return app
