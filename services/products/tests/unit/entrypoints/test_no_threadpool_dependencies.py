"""No route dependency of the products app runs in FastAPI's threadpool.

FastAPI calls a plain ``def`` dependency through ``run_in_threadpool``: a
thread hop (and GIL hand-over) on every request. Every dependency here is
cheap and non-blocking, so each must be ``async def`` (or an object with an
async ``__call__``, like ``HTTPBearer``).
"""

import inspect
from collections.abc import Iterable, Iterator
from typing import Any

from fastapi.routing import APIRoute

from products.main import create_app


def _sync_dependencies(dependant: Any) -> list[str]:
    found = []
    for dep in dependant.dependencies:
        call = dep.call
        is_async = inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(
            getattr(call, "__call__", None)  # noqa: B004 (dependency objects, not plain callables)
        )
        if call is not None and not is_async:
            found.append(getattr(call, "__qualname__", repr(call)))
        found += _sync_dependencies(dep)
    return found


def _api_routes(routes: Iterable[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        # Included routers are wrapped; their routes live on the original router.
        inner = getattr(getattr(route, "original_router", route), "routes", None)
        if inner is not None and not isinstance(route, APIRoute):
            yield from _api_routes(inner)


def test_every_route_dependency_is_async() -> None:
    app = create_app()
    routes = list(_api_routes(app.routes))
    assert routes
    offenders = {
        f"{sorted(r.methods or ())} {r.path}": deps
        for r in routes
        if (deps := _sync_dependencies(r.dependant))
    }
    assert offenders == {}
