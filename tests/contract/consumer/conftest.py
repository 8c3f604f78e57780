"""Consumer side: the real ``HttpProductClient`` against the Pact mock server.

Each test builds one ``Pact`` (interactions cannot be added once it serves),
drives the shipped client and transport through it, and merges its
interactions into ``libs/contracts/pacts/orders-products.json``, which the
products verification replays.
"""

import shutil
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest
from pact import Pact
from pydantic import SecretStr

from orders.adapters.product_clients.http import (
    HttpClientConfig,
    HttpProductClient,
    build_http_client,
    build_http_product_client,
)
from orders.config import ProductsClientMode, Settings
from servicekit.http_client.pool import HttpTransport
from servicekit.settings import Environment
from tests.contract.states import PLACEHOLDER_SERVICE_TOKEN

PACT_DIR = Path(__file__).resolve().parents[3] / "libs" / "contracts" / "pacts"

ClientFor = Callable[[Pact], AbstractAsyncContextManager[HttpProductClient]]


@pytest.fixture(scope="session")
def pact_dir() -> Path:
    """The pacts folder, emptied once per session so removed interactions disappear."""
    shutil.rmtree(PACT_DIR, ignore_errors=True)
    PACT_DIR.mkdir(parents=True)
    return PACT_DIR


@pytest.fixture
def pact() -> Pact:
    """One pact per test: orders (consumer) → products (provider), spec V4."""
    return Pact("orders", "products").with_specification("V4")


def _settings(products_url: str) -> Settings:
    return Settings(
        environment=Environment.TESTING,
        products_client=ProductsClientMode.HTTP,
        products_url=products_url,
        products_transport=HttpTransport.AIOHTTP,
        service_token=SecretStr(PLACEHOLDER_SERVICE_TOKEN),
        # A mismatch answers 500; one attempt reports it without retry noise.
        products_max_attempts=1,
    )


@pytest.fixture
def client_for(pact_dir: Path) -> ClientFor:
    """Serve a pact and yield the shipped client (aiohttp transport) pointed at it.

    The pact is written only when every interaction was exercised and matched.
    """

    @asynccontextmanager
    async def serve(pact: Pact) -> AsyncIterator[HttpProductClient]:
        with pact.serve(addr="127.0.0.1") as server:
            settings = HttpClientConfig.from_settings(_settings(str(server.url)))
            async with build_http_client(settings) as http:
                yield build_http_product_client(settings, http)
        pact.write_file(pact_dir, overwrite=False)

    return serve
