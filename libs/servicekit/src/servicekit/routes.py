"""Introspection of an app's routes, for checks both services run on themselves."""

import inspect
from collections.abc import Iterable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute


def api_routes(routes: Iterable[Any]) -> Iterator[APIRoute]:
    """Every ``APIRoute``, including those of included routers (paths as their router declares them)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
            continue
        # Included routers are wrapped; their routes live on the original router.
        inner = getattr(getattr(route, "original_router", route), "routes", None)
        if inner is not None:
            yield from api_routes(inner)


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


def sync_route_dependencies(app: FastAPI) -> dict[str, list[str]]:
    """Routes whose dependencies are plain ``def`` (run in FastAPI's threadpool).

    FastAPI calls a plain ``def`` dependency through ``run_in_threadpool``: a
    thread hop (and GIL hand-over) on every request. Cheap, non-blocking
    dependencies should be ``async def`` (or objects with an async ``__call__``).
    """
    return {
        f"{sorted(route.methods or ())} {route.path}": deps
        for route in api_routes(app.routes)
        if (deps := _sync_dependencies(route.dependant))
    }
