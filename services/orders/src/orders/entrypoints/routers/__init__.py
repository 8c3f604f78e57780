"""HTTP routers; every module here exposing ``router`` is mounted by the app."""

import importlib
import pkgutil

from fastapi import APIRouter


def discover() -> list[APIRouter]:
    """The ``router`` of every module in this package, in module-name order."""
    found = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        router = getattr(module, "router", None)
        if isinstance(router, APIRouter):
            found.append(router)
    return found
