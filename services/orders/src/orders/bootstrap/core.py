"""``bootstrap``: what every orders process runs on, each wiring decision made once (ADR 0027)."""

import asyncio
import logging
from collections.abc import Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from cutover.flags import SqlFlagStore, mode_surprise
from orders.adapters.backends import (
    external_http_client,
    needs_external_http,
    notifications_backend,
    payments_backend,
)
from orders.adapters.db.queries import SqlOrderQueries
from orders.adapters.db.unit_of_work import SqlAlchemyUnitOfWork
from orders.adapters.events.bus import build_event_bus
from orders.adapters.events.consumers import confirmation_email
from orders.adapters.faults import after_reserve_fault
from orders.adapters.outbox.relay import ORDERS_OUTBOX
from orders.adapters.product_clients.factory import ProductsSeam
from orders.application.unit_of_work import UnitOfWork
from orders.bootstrap import tasks
from orders.bootstrap.flags import ORDERS_FLAGS, open_flag_store
from orders.bootstrap.overrides import Overrides
from orders.bootstrap.ownership import migrate_databases, products_consumers
from orders.bootstrap.products import wire_products
from orders.config import FeatureFlags, Settings
from orders.domain.ports import NotificationPort, PaymentPort
from orders.facade import OrdersFacade
from servicekit.clock import Clock
from servicekit.db import autocommit_engine, create_engine, ping, session_factory
from servicekit.events.handlers import Subscription
from servicekit.health import ReadinessCheck
from servicekit.outbox.task import relay_task
from servicekit.tracing import tracer

# The API's start-up warnings keep the logger operators have always seen them under.
logger = logging.getLogger("orders.main")


@dataclass(frozen=True, slots=True)
class Runtime:
    """The collaborators one process built; the stack they were built in closes them."""

    engine: AsyncEngine
    flags: SqlFlagStore[FeatureFlags]
    # What a consumer group runs (``with_consumers``).
    subscriptions: tuple[Subscription, ...] = ()
    # What the HTTP routes use (``with_http_routes``): the app's state carries them.
    orders: OrdersFacade | None = None
    product_router: ProductsSeam | None = None
    readiness: Mapping[str, ReadinessCheck] = field(default_factory=dict)


async def bootstrap(
    settings: Settings,
    stack: AsyncExitStack,
    overrides: Overrides | None = None,
    *,
    migrate: bool = False,
    with_http_routes: bool = False,
    with_relay: bool = False,
    with_reconciler: bool = False,
    with_consumers: bool = False,
    pool_size: int | None = None,
) -> Runtime:
    """Build what the caller asks for, once; everything opened is closed via ``stack``.

    Always the primary engine and the flag store (read before anything serves).
    ``migrate`` upgrades the schemas this deployment owns first.
    ``with_http_routes``: product clients, gateways, event bus and the orders
    facade, plus the flags refresh and, when asked, the outbox relay and the
    reconciler. ``with_consumers``: the subscriptions an event consumer runs,
    plus the flags refresh. Neither: a command's store, nothing in the background.
    """
    if (with_relay or with_reconciler) and not with_http_routes:
        raise ValueError("the relay and the reconciler run beside the HTTP routes' facade")
    if with_http_routes and with_consumers:
        raise ValueError("a process serves the HTTP routes or consumes events, not both")
    overrides = overrides or Overrides()
    if migrate:
        await migrate_databases(settings)
    engine = open_engine(settings, stack, pool_size=pool_size)
    flag_store = await open_flag_store(settings, engine, overrides)
    if with_http_routes:
        return await _serving(
            settings,
            stack,
            overrides,
            engine,
            flag_store,
            with_relay=with_relay,
            with_reconciler=with_reconciler,
        )
    if with_consumers:
        notifications, _ = _gateways(settings, stack, overrides)
        subscriptions = _subscriptions(
            engine,
            notifications,
            overrides.clock,
            flag_store,
            await products_consumers(settings, stack),
        )
        tasks.start([tasks.flags_refresh(settings, flag_store, None)], stack)
        return Runtime(engine, flag_store, subscriptions)
    return Runtime(engine, flag_store)


def open_engine(
    settings: Settings, stack: AsyncExitStack, *, pool_size: int | None = None
) -> AsyncEngine:
    """The primary database's engine, pooled as ``APP_DB_*`` say; disposed via ``stack``."""
    engine = create_engine(
        settings.database_url.get_secret_value(),
        pool_size=pool_size or settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        echo=settings.db_echo,
    )
    stack.push_async_callback(engine.dispose)
    return engine


def _read_engine(settings: Settings, stack: AsyncExitStack, engine: AsyncEngine) -> AsyncEngine:
    """The read side's engine: a replica when ``APP_READ_DATABASE_URL`` names another database."""
    read_database_url = (
        settings.read_database_url.get_secret_value() if settings.read_database_url else None
    )
    if not read_database_url or read_database_url == settings.database_url.get_secret_value():
        return engine
    replica = create_engine(
        read_database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
    )
    stack.push_async_callback(replica.dispose)
    return replica


def _gateways(
    settings: Settings, stack: AsyncExitStack, overrides: Overrides
) -> tuple[NotificationPort, PaymentPort]:
    """Notifications and payments as configured (or injected), over one external HTTP client."""
    http = overrides.http_client
    if http is None and needs_external_http(settings):
        http = external_http_client(settings)
        stack.push_async_callback(http.aclose)
    notifications = overrides.notifications or notifications_backend(settings, http)
    payments = overrides.payments or payments_backend(settings, http)
    return notifications, payments


def _subscriptions(
    engine: AsyncEngine,
    notifications: NotificationPort,
    clock: Clock,
    flag_store: SqlFlagStore[FeatureFlags],
    of_products: tuple[Subscription, ...],
) -> tuple[Subscription, ...]:
    """Orders' own consumer (the confirmation e-mail, behind its flag), then products' ones."""
    return (
        confirmation_email(
            engine, notifications, clock, enabled=lambda: flag_store.current().confirmation_email
        ),
        *of_products,
    )


async def _serving(
    settings: Settings,
    stack: AsyncExitStack,
    overrides: Overrides,
    engine: AsyncEngine,
    flag_store: SqlFlagStore[FeatureFlags],
    *,
    with_relay: bool,
    with_reconciler: bool,
) -> Runtime:
    """What the HTTP routes use, and the background loops beside them."""
    surprise = mode_surprise(flag_store, ORDERS_FLAGS)
    if surprise is not None:
        logger.warning(surprise)
    # The read side (queries) may use a replica; commands always use the primary.
    replica = _read_engine(settings, stack, engine)
    products = await wire_products(settings, stack, flag_store, overrides)
    notifications, payments = _gateways(settings, stack, overrides)
    clock = overrides.clock

    # Set when a request commits outbox rows: the relay starts on them at once.
    outbox_written = asyncio.Event()

    def uow() -> UnitOfWork:
        return SqlAlchemyUnitOfWork(engine, clock, on_events=outbox_written.set)

    autocommit = autocommit_engine(engine)

    def autocommit_uow() -> UnitOfWork:
        return SqlAlchemyUnitOfWork(autocommit, clock)

    subscriptions = _subscriptions(engine, notifications, clock, flag_store, products.subscriptions)
    bus = await build_event_bus(settings, subscriptions, stack)
    orders = OrdersFacade(
        uow=uow,
        autocommit_uow=autocommit_uow,
        queries=SqlOrderQueries(replica, autocommit_engine(replica)),
        products=products.client,
        payments=payments,
        clock=clock,
        max_items_per_order=flag_store.current().max_items_per_order,
        reconcile_grace=timedelta(seconds=settings.reconcile_grace_seconds),
        placement_budget_seconds=settings.placement_budget_seconds,
        after_reserve=overrides.after_reserve or after_reserve_fault(settings.fault_injection),
    )
    background = [tasks.flags_refresh(settings, flag_store, products.router)]
    if with_relay:
        # Background work (outbox relay, its handlers) keeps ORM sessions; requests use Core.
        sessions = session_factory(engine)
        relay = relay_task(
            ORDERS_OUTBOX,
            settings,
            sessions,
            bus,
            clock=clock,
            wake=outbox_written,
            tracer=tracer("orders.outbox"),
        )
        background.append(relay)
    if with_reconciler:
        background.append(tasks.reconciler(settings, orders))
    tasks.start(background, stack)
    return Runtime(
        engine,
        flag_store,
        orders=orders,
        product_router=products.router,
        readiness={"database": lambda: ping(engine), "products": products.readiness},
    )
