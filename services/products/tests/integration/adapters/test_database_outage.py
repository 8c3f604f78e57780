"""An unreachable database is "unavailable, retry later", never an internal error."""

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


async def test_facade_raises_products_unavailable() -> None:
    facade = ProductsFacade.from_database_url(UNREACHABLE)
    try:
        with pytest.raises(ProductsUnavailable):
            await facade.get_product(uuid4())
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
