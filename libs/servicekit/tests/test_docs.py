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


def _app() -> FastAPI:
    app = service_app(
        title="t",
        summary="s",
        description="d",
        version="1",
        tags=[{"name": "things", "description": "Things."}],
        lifespan=_no_lifespan,
    )
    install_plumbing(app, ServiceSettings(environment=Environment.TESTING), "test")
    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = _app()
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


def test_operation_ids_are_route_names_and_every_tag_is_declared() -> None:
    app = _app()

    @app.get("/things/{thing_id}", tags=["things"])
    async def get_thing(thing_id: int) -> int:
        return thing_id

    document = app.openapi()
    ids = {op["operationId"] for item in document["paths"].values() for op in item.values()}
    used = {
        tag for item in document["paths"].values() for op in item.values() for tag in op["tags"]
    }

    assert ids == {"get_thing", "liveness", "readiness"}
    assert used <= {tag["name"] for tag in document["tags"]}
    assert document["servers"] == [
        {"url": "/", "description": "The host that serves this document"}
    ]


def test_two_routes_with_one_name_fail_loudly() -> None:
    app = _app()

    @app.get("/a")
    async def same() -> None: ...

    @app.get("/b", name="same")
    async def other() -> None: ...

    with pytest.warns(UserWarning, match="Duplicate Operation ID"):
        app.openapi()
