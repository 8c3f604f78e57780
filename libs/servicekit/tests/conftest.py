"""A tiny app wired with the shared plumbing, for testing the plumbing itself."""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import asyncpg
import httpx
import pytest
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel
from sqlalchemy import exc as sa_exc

from libs.servicekit.tests.warehouse import Sleeps, Warehouse
from servicekit.app import install_plumbing
from servicekit.deps import AdminPrincipal, CurrentPrincipal, ServiceCaller
from servicekit.settings import Environment, ServiceSettings
from shop_contracts.errors import InsufficientStock, ProductsUnavailable


class Echo(BaseModel):
    """Body of the echo endpoint."""

    text: str
    count: int


def build_app(settings: ServiceSettings) -> FastAPI:
    """An app with one route per plumbing behaviour under test."""
    app = FastAPI()
    router = APIRouter()

    @router.post("/echo")
    async def echo(body: Echo) -> Echo:
        return body

    @router.get("/me")
    async def me(principal: CurrentPrincipal) -> dict[str, object]:
        return {"user_id": principal.user_id, "roles": sorted(principal.roles)}

    @router.get("/admin")
    async def admin(principal: AdminPrincipal) -> dict[str, str]:
        return {"user_id": principal.user_id}

    @router.get("/internal", dependencies=[ServiceCaller])
    async def internal() -> dict[str, str]:
        return {"ok": "yes"}

    @router.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    @router.get("/stock")
    async def stock() -> None:
        raise InsufficientStock([])

    @router.get("/down")
    async def down() -> None:
        raise ProductsUnavailable("products is down", retry_after=7)

    @router.get("/database-refuses")
    async def database_refuses() -> None:
        try:
            raise ConnectionError("sorry, too many clients already")
        except ConnectionError as exc:
            raise ProductsUnavailable("The products database is unavailable") from exc

    @router.get("/database-down")
    async def database_down() -> None:
        # What asyncpg raises, unwrapped, while the server is down.
        raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")

    @router.get("/connection-lost")
    async def connection_lost() -> None:
        orig = asyncpg.exceptions.ConnectionDoesNotExistError(
            "connection was closed in the middle of operation"
        )
        raise sa_exc.InterfaceError("SELECT 1", {}, orig)

    @router.get("/constraint")
    async def constraint() -> None:
        raise sa_exc.IntegrityError("INSERT", {}, Exception("duplicate key value"))

    app.include_router(router)
    install_plumbing(app, settings, "kit-test")
    return app


@pytest.fixture
def settings() -> ServiceSettings:
    """Testing settings with a small body limit."""
    return ServiceSettings(environment=Environment.TESTING, max_body_bytes=2048, log_json=True)


@asynccontextmanager
async def app_client(settings: ServiceSettings) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client bound in-process to a plumbing app built with ``settings``."""
    app = build_app(settings)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


ClientFor = Callable[[ServiceSettings], AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def client_for() -> ClientFor:
    """Builds a plumbing app with the given settings and a client for it."""
    return app_client


@pytest.fixture
async def client(settings: ServiceSettings) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client bound to the plumbing app in-process."""
    async with app_client(settings) as http:
        yield http


# The guard's example remote (test_guard.py, test_pool_guard.py).
@pytest.fixture
async def warehouse() -> AsyncIterator[Warehouse]:
    remote = Warehouse()
    yield remote
    await remote.http.aclose()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()
