"""A 405 lists every method the path serves, even when several routers share it."""

import httpx
from fastapi import APIRouter, FastAPI

from servicekit.app import install_plumbing
from servicekit.settings import Environment, ServiceSettings


def _app() -> FastAPI:
    public, admin = APIRouter(), APIRouter()

    @public.get("/things")
    async def list_things() -> list[str]:
        return []

    @admin.post("/things")
    async def add_thing() -> str:
        return "added"

    app = FastAPI()
    install_plumbing(app, ServiceSettings(environment=Environment.TESTING), "test")
    app.include_router(public)
    app.include_router(admin)
    return app


async def test_allow_names_the_methods_of_every_router_serving_the_path() -> None:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.delete("/things")

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert response.headers["Allow"] == "GET, POST"
