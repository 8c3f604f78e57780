"""Composition root: ``create_app`` builds nothing; the lifespan builds everything.

Run with ``uvicorn --factory orders.main:create_app``. Tests pass fakes for any
collaborator (product client, or the set of product clients to route between,
notifications, payments, external HTTP client, clock, fault hook) and the
lifespan uses them instead of building its own.
"""

import asyncio
import logging
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
from orders.adapters.events.bus import build_event_bus
from orders.adapters.events.consumers import confirmation_email
from orders.adapters.faults import after_reserve_fault
from orders.adapters.flags.sql import SqlFlagStore
from orders.adapters.metrics import record_reconcile
from orders.adapters.outbox.task import relay_task
from orders.adapters.product_clients.factory import (
    ProductClients,
    ProductsSeam,
    build_product_clients,
    build_seam,
    products_readiness,
)
from orders.application.flag_views import mode_report, mode_surprise
from orders.application.place_order import AfterReserveHook
from orders.application.unit_of_work import UnitOfWork
from orders.config import (
    FeatureFlags,
    ProductsClientMode,
    Settings,
    choosable_modes,
    default_flags,
)
from orders.domain.ports import NotificationPort, PaymentPort
from orders.domain.product_client import ProductServiceClient
from orders.facade import OrdersFacade
from products.facade import upgrade_products_database
from servicekit.app import install_plumbing
from servicekit.clock import Clock, utc_now
from servicekit.db import autocommit_engine, create_engine, ping, session_factory
from servicekit.docs import service_app
from servicekit.events.handlers import Subscription
from servicekit.health import ReadinessCheck
from servicekit.periodic import PeriodicTask
from servicekit.routers import mount_routers

SERVICE = "orders"
logger = logging.getLogger("orders.main")
_DESCRIPTION = (
    "Place orders against the product catalogue, follow and cancel them. Every"
    " operation needs a user JWT (`Authorization: Bearer ...`; `just token USER`"
    " mints one for development). Errors are RFC 9457 `application/problem+json`"
    " with a stable `code`."
)


@dataclass(frozen=True, slots=True)
class Overrides:
    """Collaborators a caller (usually a test) supplies instead of the configured ones."""

    product_client: ProductServiceClient | None = None
    products_readiness: ReadinessCheck | None = None
    product_clients: ProductClients | None = None
    notifications: NotificationPort | None = None
    payments: PaymentPort | None = None
    http_client: httpx.AsyncClient | None = None
    after_reserve: AfterReserveHook | None = None
    clock: Clock = field(default=utc_now)


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
    database_url = settings.database_url.get_secret_value()
    if settings.run_migrations_on_startup:
        await upgrade_orders_database(database_url)
    engine = create_engine(
        database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        echo=settings.db_echo,
    )
    stack.push_async_callback(engine.dispose)
    # The read side (queries) may use a replica; commands always use the primary.
    replica = engine
    read_database_url = (
        settings.read_database_url.get_secret_value() if settings.read_database_url else None
    )
    if read_database_url and read_database_url != database_url:
        replica = create_engine(
            read_database_url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
        )
        stack.push_async_callback(replica.dispose)
    clock = overrides.clock
    flag_store = SqlFlagStore(
        engine,
        default_flags(settings, flags),
        choosable=choosable_modes(settings.products_client),
        clock=clock,
    )
    await flag_store.refresh()  # before serving: no request sees only the defaults
    app.state.flags = flag_store
    surprise = mode_surprise(flag_store)
    if surprise is not None:
        logger.warning(surprise)

    router: ProductsSeam | None = None
    subscriptions_of_products: tuple[Subscription, ...] = ()
    if overrides.product_client is not None:
        # One fixed client: every request and background task uses it.
        products = overrides.product_client
        readiness = overrides.products_readiness or _injected_products_ready
    else:
        clients = overrides.product_clients
        if clients is None:
            if (
                settings.run_migrations_on_startup
                and settings.products_client is ProductsClientMode.LOCAL
            ):
                await upgrade_products_database(settings.products_database_url.get_secret_value())
            clients = await build_product_clients(settings, stack)
        router = build_seam(clients, settings, flag_store, stack, clock)
        products = router.authoritative
        readiness = products_readiness(router, clients, flag_store)
        subscriptions_of_products = clients.subscriptions
    app.state.product_router = router

    http = overrides.http_client
    if http is None and needs_external_http(settings):
        http = external_http_client(settings)
        stack.push_async_callback(http.aclose)
    notifications = overrides.notifications or notifications_backend(settings, http)
    payments = overrides.payments or payments_backend(settings, http)

    # Set when a request commits outbox rows: the relay starts on them at once.
    outbox_written = asyncio.Event()

    def uow() -> UnitOfWork:
        return SqlAlchemyUnitOfWork(engine, clock, on_events=outbox_written.set)

    autocommit = autocommit_engine(engine)
    # Background work (outbox relay, its handlers) keeps ORM sessions; requests use Core.
    sessions = session_factory(engine)

    def autocommit_uow() -> UnitOfWork:
        return SqlAlchemyUnitOfWork(autocommit, clock)

    subscriptions = (
        confirmation_email(
            engine, notifications, clock, enabled=lambda: flag_store.current().confirmation_email
        ),
        *subscriptions_of_products,
    )
    bus = await build_event_bus(settings, subscriptions, stack)

    orders = OrdersFacade(
        uow=uow,
        autocommit_uow=autocommit_uow,
        queries=SqlOrderQueries(replica, autocommit_engine(replica)),
        products=products,
        payments=payments,
        clock=clock,
        max_items_per_order=flag_store.current().max_items_per_order,
        reconcile_grace=timedelta(seconds=settings.reconcile_grace_seconds),
        placement_budget_seconds=settings.placement_budget_seconds,
        after_reserve=overrides.after_reserve or after_reserve_fault(settings.fault_injection),
    )
    app.state.orders = orders
    app.state.event_bus = bus
    app.state.readiness["database"] = lambda: ping(engine)
    app.state.readiness["products"] = _with_mode(readiness, flag_store)

    async def refresh_flags() -> None:
        await flag_store.refresh()
        if router is not None:
            # Every tick, requests or not: an idle worker's gauges follow the store.
            router.publish(flag_store.current())

    if router is not None:
        router.publish(flag_store.current())
    tasks = [PeriodicTask("flags-refresh", settings.flags_refresh_seconds, refresh_flags)]
    if settings.run_outbox_relay:
        tasks.append(relay_task(settings, sessions, bus, clock, outbox_written))
    if settings.run_reconciler:

        async def reconcile() -> None:
            record_reconcile(await orders.reconcile())

        tasks.append(
            PeriodicTask("order-reconciler", settings.reconcile_interval_seconds, reconcile)
        )
    for task in tasks:
        task.start()
        stack.push_async_callback(task.stop)


def _with_mode(check: ReadinessCheck, store: SqlFlagStore) -> ReadinessCheck:
    """The products check, with the mode in force, the start-up mode and who set it."""

    async def report() -> dict[str, Any]:
        details = await check()
        if details.get("mode") == "injected":
            return details  # a test's fixed client: no mode to report
        return {**details, **mode_report(store)}

    return report


def create_app(
    settings: Settings | None = None,
    *,
    flags: FeatureFlags | None = None,
    product_client: ProductServiceClient | None = None,
    products_readiness: ReadinessCheck | None = None,
    product_clients: ProductClients | None = None,
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
        product_clients=product_clients,
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
        tags=[
            {
                "name": "orders",
                "description": "Quote, place, read, pay and cancel the caller's own orders.",
            },
            {
                "name": "flags",
                "description": "Run-time flags (admin): read, change with a reason, audit trail.",
            },
        ],
        lifespan=_lifespan(settings, flags, overrides),
    )
    install_plumbing(app, settings, SERVICE)
    mount_routers(app, "orders.entrypoints.routers")
    return app
