"""An unreachable database is "unavailable, retry later", never an internal error."""

from collections.abc import Awaitable, Callable
from typing import Any
from uuid import uuid4

import httpx
import pytest
from asgi_lifespan import LifespanManager

from products.config import Settings
from products.facade import ProductsFacade
from products.main import create_app
from servicekit.settings import Environment
from shop_contracts.errors import ProductsUnavailable

# Nothing listens on port 1; connecting fails at once.
UNREACHABLE = "postgresql+asyncpg://products@127.0.0.1:1/products"


READS: dict[str, Callable[[ProductsFacade], Awaitable[Any]]] = {
    "get_product": lambda facade: facade.get_product(uuid4()),
    "list_products": lambda facade: facade.list_products("mug", 1, 20),
    "lookup_products": lambda facade: facade.lookup_products([uuid4()]),
    "check_stock": lambda facade: facade.check_stock(uuid4(), 1),
    "get_reservation": lambda facade: facade.get_reservation(uuid4()),
}


@pytest.mark.parametrize("read", READS.values(), ids=READS.keys())
async def test_every_facade_read_raises_products_unavailable(
    read: Callable[[ProductsFacade], Awaitable[Any]],
) -> None:
    facade = ProductsFacade.from_database_url(UNREACHABLE)
    try:
        with pytest.raises(ProductsUnavailable):
            await read(facade)
    finally:
        await facade.aclose()


async def test_a_write_raises_products_unavailable() -> None:
    facade = ProductsFacade.from_database_url(UNREACHABLE)
    try:
        with pytest.raises(ProductsUnavailable):
            await facade.release_by_key("key-1")
    finally:
        await facade.aclose()


async def test_http_answers_503_with_retry_after_and_readiness_fails() -> None:
    app = create_app(Settings(environment=Environment.TESTING, database_url=UNREACHABLE))
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://products"
        ) as client,
    ):
        response = await client.get(f"/api/v1/products/{uuid4()}")
        ready = await client.get("/health/ready")

    assert response.status_code == 503
    assert response.json()["code"] == "products_unavailable"
    assert response.headers["retry-after"] == "1"
    assert ready.status_code == 503
    assert ready.json()["checks"]["database"]["status"] == "down"
