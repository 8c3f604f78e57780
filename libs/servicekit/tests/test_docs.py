"""The docs pages reference only assets this app serves itself."""

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI

from servicekit.app import install_plumbing
from servicekit.docs import service_app
from servicekit.settings import Environment, ServiceSettings

_REFERENCE = re.compile(r'(?:src|href)="([^"]+)"')


@asynccontextmanager
async def _no_lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = service_app(title="t", summary="s", description="d", version="1", lifespan=_no_lifespan)
    install_plumbing(app, ServiceSettings(environment=Environment.TESTING), "test")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@pytest.mark.parametrize(("page", "assets"), [("/docs", 3), ("/redoc", 2)])
async def test_docs_pages_load_every_asset_from_this_host(
    client: httpx.AsyncClient, page: str, assets: int
) -> None:
    response = await client.get(page)
    references = _REFERENCE.findall(response.text)

    assert response.status_code == 200
    assert "://" not in response.text  # no absolute URL anywhere on the page
    assert len(references) == assets
    for reference in references:
        asset = await client.get(reference)
        assert (reference, asset.status_code) == (reference, 200)
        assert len(asset.content) > 1000


async def test_docs_policy_allows_no_other_host(client: httpx.AsyncClient) -> None:
    policy = (await client.get("/docs")).headers["content-security-policy"]

    assert "https:" not in policy
    assert "default-src 'self'" in policy
