"""HTTP routers; every module here exposes ``router`` and is mounted automatically."""

import importlib
import pkgutil

from fastapi import APIRouter


def discover_routers() -> list[APIRouter]:
    """The ``router`` of every module in this package, in module-name order."""
    routers = []
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        router = getattr(module, "router", None)
        if not isinstance(router, APIRouter):
            raise TypeError(f"{module.__name__} must expose an APIRouter named 'router'")
        routers.append(router)
    return routers
