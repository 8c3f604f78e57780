"""Route introspection finds threadpool-bound dependencies, including nested ones."""

from fastapi import APIRouter, Depends, FastAPI

from servicekit.routes import api_routes, sync_route_dependencies


def _blocking() -> int:
    return 1


async def _nested(value: int = Depends(_blocking)) -> int:
    return value


async def _fine() -> int:
    return 2


def _app() -> FastAPI:
    app = FastAPI()
    router = APIRouter()

    @router.get("/sync")
    async def sync_dep(value: int = Depends(_blocking)) -> int:
        return value

    @router.get("/nested")
    async def nested_dep(value: int = Depends(_nested)) -> int:
        return value

    @router.get("/async")
    async def async_dep(value: int = Depends(_fine)) -> int:
        return value

    app.include_router(router)
    return app


def test_routes_of_included_routers_are_found() -> None:
    assert {r.path for r in api_routes(_app().routes)} >= {"/sync", "/nested", "/async"}


def test_plain_def_dependencies_are_reported_even_when_nested() -> None:
    offenders = sync_route_dependencies(_app())
    assert set(offenders) == {"['GET'] /sync", "['GET'] /nested"}
    assert offenders["['GET'] /nested"] == ["_blocking"]
