"""Composition root: ``create_app(settings)`` and the lifespan that owns every resource.

Run with ``uvicorn --factory products.main:create_app``. Nothing is built at
import time; the engine and the sweeper exist only between startup and shutdown.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from products.adapters.schema import upgrade_database
from products.config import Settings
from products.entrypoints.routers import discover_routers
from products.runtime import ProductsRuntime
from servicekit.app import install_plumbing
from shop_contracts.paths import API_PREFIX


def _runtime(settings: Settings) -> ProductsRuntime:
    return ProductsRuntime(
        settings.database_url,
        reservation_ttl_seconds=settings.reservation_ttl_seconds,
        sweep_interval_seconds=settings.sweep_interval_seconds,
        max_bulk_import_size=settings.features.max_bulk_import_size,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        echo=settings.db_echo,
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the products HTTP app; settings come from the environment unless given."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.run_migrations_on_startup:
            await upgrade_database(settings.database_url)
        runtime = _runtime(settings)
        app.state.runtime = runtime
        await runtime.start(run_sweeper=True)
        try:
            yield
        finally:
            await runtime.aclose()

    app = FastAPI(
        title="products",
        summary="Catalogue, stock and stock reservations",
        version="1.0.0",
        lifespan=lifespan,
    )

    async def database_ready() -> dict[str, Any]:
        runtime: ProductsRuntime = app.state.runtime
        return await runtime.ping()

    install_plumbing(app, settings, "products", readiness={"database": database_ready})
    for router in discover_routers():
        app.include_router(router, prefix=API_PREFIX)
    return app
