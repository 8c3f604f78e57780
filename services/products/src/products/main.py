"""Composition root: ``create_app`` and the lifespan that owns every resource (ADR 0026)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI

from products.config import FeatureFlags, Settings
from products.facade import ProductsFacade, upgrade_products_database
from servicekit.app import install_plumbing
from servicekit.docs import service_app
from servicekit.events.runner import ConsumerGroup
from servicekit.events.settings import EventBusMode
from servicekit.routers import mount_routers
from shop_contracts.errors import ErrorCode

_DESCRIPTION = (
    "The product catalogue (public reads), its administration (user JWT with the"
    " `admin` role) and stock reservations (internal: the service credential only)."
    " Errors are RFC 9457 `application/problem+json` with a stable `code`."
)


@dataclass(frozen=True, slots=True)
class Overrides:
    """What the lifespan uses instead of building it, as orders' ``Overrides`` (ADR 0026)."""

    flags: FeatureFlags | None = None


def _products(settings: Settings, flags: FeatureFlags) -> ProductsFacade:
    return ProductsFacade.from_database_url(
        settings.database_url.get_secret_value(),
        reservation_ttl_seconds=settings.reservation_ttl_seconds,
        sweep_interval_seconds=settings.sweep_interval_seconds,
        max_bulk_import_size=flags.max_bulk_import_size,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        echo=settings.db_echo,
    )


def create_app(settings: Settings | None = None, overrides: Overrides | None = None) -> FastAPI:
    """Build the products HTTP app; settings and flags come from the environment unless given."""
    settings = settings or Settings()
    flags = (overrides.flags if overrides else None) or FeatureFlags()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.run_migrations_on_startup:
            await upgrade_products_database(settings.database_url.get_secret_value())
        products = _products(settings, flags)
        app.state.products = products
        await products.start(run_sweeper=True)
        # With a broker, products consumes orders' events itself; in local mode the
        # process that runs the outbox relay calls the same subscriptions in-process.
        consumers = None
        if settings.event_bus is EventBusMode.RABBITMQ:
            consumers = ConsumerGroup(settings, products.subscriptions())
            consumers.start()
        try:
            yield
        finally:
            if consumers is not None:
                await consumers.aclose()
            await products.aclose()

    app = service_app(
        title="Products service",
        summary="Catalogue, stock and stock reservations",
        description=_DESCRIPTION,
        version="1.0.0",
        tags=[
            {"name": "products", "description": "The catalogue and stock: public reads."},
            {
                "name": "products: admin",
                "description": "Create, update and restock products (user JWT, `admin` role).",
            },
            {
                "name": "reservations (internal)",
                "description": "Stock holds for orders: hold, confirm, release"
                " (the service credential only; no user token is accepted).",
            },
        ],
        lifespan=lifespan,
    )

    async def database_ready() -> dict[str, Any]:
        products: ProductsFacade = app.state.products
        return await products.ping()

    # Orders sends its remaining budget on every call; work past it is refused or cut (ADR 0024).
    install_plumbing(
        app,
        settings,
        "products",
        readiness={"database": database_ready},
        budget_code=ErrorCode.PRODUCTS_UNAVAILABLE,
    )
    mount_routers(app, "products.entrypoints.routers")
    return app
