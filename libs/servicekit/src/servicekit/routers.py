"""Router discovery: every module of a service's ``routers`` package is mounted under the API prefix."""

import importlib
import pkgutil

from fastapi import APIRouter, FastAPI

from shop_contracts.paths import API_PREFIX


def discover_routers(package: str) -> list[APIRouter]:
    """The ``router`` of every module in ``package``, in module-name order.

    A module without an ``APIRouter`` named ``router`` is a mistake, not
    something to skip: the service would silently lose its routes.
    """
    path = importlib.import_module(package).__path__
    routers = []
    for info in sorted(pkgutil.iter_modules(path), key=lambda m: m.name):
        module = importlib.import_module(f"{package}.{info.name}")
        router = getattr(module, "router", None)
        if not isinstance(router, APIRouter):
            raise TypeError(f"{module.__name__} must expose an APIRouter named 'router'")
        routers.append(router)
    return routers


def mount_routers(app: FastAPI, package: str) -> None:
    """Include every router of ``package`` under ``API_PREFIX`` (routers declare paths without it)."""
    for router in discover_routers(package):
        app.include_router(router, prefix=API_PREFIX)
