"""Composition root of the API: ``create_app`` builds nothing, its lifespan calls the bootstrap (ADR 0027)."""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager

from fastapi import FastAPI

from orders.bootstrap import Overrides, bootstrap
from orders.config import Settings
from servicekit.app import install_plumbing
from servicekit.docs import service_app
from servicekit.routers import mount_routers

SERVICE = "orders"
_DESCRIPTION = (
    "Place orders against the product catalogue, follow and cancel them. Every"
    " operation needs a user JWT (`Authorization: Bearer ...`; `just token USER`"
    " mints one for development). Errors are RFC 9457 `application/problem+json`"
    " with a stable `code`."
)


def _lifespan(
    settings: Settings, overrides: Overrides
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            runtime = await bootstrap(
                settings,
                stack,
                overrides,
                migrate=settings.run_migrations_on_startup,
                with_http_routes=True,
                with_relay=settings.run_outbox_relay,
                with_reconciler=settings.run_reconciler,
            )
            # What the routers' dependencies read (entrypoints/deps.py).
            app.state.flags = runtime.flags
            app.state.product_router = runtime.product_router
            app.state.orders = runtime.orders
            app.state.readiness.update(runtime.readiness)
            yield

    return lifespan


def create_app(settings: Settings | None = None, overrides: Overrides | None = None) -> FastAPI:
    """The orders ASGI app; nothing is connected until the lifespan starts.

    Run with ``uvicorn --factory orders.main:create_app``. Tests pass
    ``overrides`` with fakes for any collaborator; the bootstrap uses those
    instead of building its own.
    """
    settings = settings or Settings()
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
        lifespan=_lifespan(settings, overrides or Overrides()),
    )
    install_plumbing(app, settings, SERVICE)
    mount_routers(app, "orders.entrypoints.routers")
    return app
