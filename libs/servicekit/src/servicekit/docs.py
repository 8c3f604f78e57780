"""The app both services start from: OpenAPI metadata, and docs pages that need no internet.

Operation ids are the route functions' names (``place_order``, not
``place_order_api_v1_orders_post``): generated clients turn them into module and
function names, so they are part of the interface and the OpenAPI gate treats a
changed one as breaking (ADR 0006).

FastAPI's default ``/docs`` and ``/redoc`` pull Swagger UI, ReDoc and a favicon
from public CDNs, so they stay blank without internet access. ``fastapi-offline``
(MIT; Swagger UI, ReDoc and favicon shipped in its wheel, released with new
Swagger UI versions) serves the same pages from the installed package instead.

Every operation documents 431 (``headers_too_large``): the header-size middleware
answers it before routing, so any path, the health probes included, can return it.
"""

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi_offline import FastAPIOffline

from servicekit.problems import problem_responses

DOCS_URL = "/docs"
REDOC_URL = "/redoc"
DOCS_ASSETS_URL = "/docs/assets"

SWAGGER_UI_PARAMETERS: dict[str, Any] = {
    # A token entered under "Authorize" survives a reload of the page.
    "persistAuthorization": True,
    "displayRequestDuration": True,
    # No badge that sends the document to the public swagger.io validator.
    "validatorUrl": None,
}

SERVERS = [{"url": "/", "description": "The host that serves this document"}]
CONTACT = {"name": "Shop backend maintainers"}
# No open-source licence: the services and their documents are the shop's own.
LICENSE = {"name": "Proprietary", "identifier": "LicenseRef-Proprietary"}
OPERATIONS_TAG = {
    "name": "operations",
    "description": "Liveness and readiness probes (no authentication).",
}

# An operation anyone may call says so (``security: []``) rather than saying nothing,
# which readers and linters (redocly's security-defined) cannot tell from an omission.
PUBLIC: dict[str, Any] = {"security": []}

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def operation_id(route: APIRoute) -> str:
    """The route function's name; FastAPI warns (an error under the suite) on a duplicate."""
    return route.name


def service_app(
    *,
    title: str,
    summary: str,
    description: str,
    version: str,
    tags: list[dict[str, str]],
    lifespan: Lifespan,
) -> FastAPI:
    """A FastAPI app with the shared OpenAPI metadata and offline ``/docs`` and ``/redoc``.

    ``tags`` declares (with a description) every tag the service's routes use;
    the health probes' tag is added here.
    """
    return FastAPIOffline(
        docs_url=DOCS_URL,
        redoc_url=REDOC_URL,
        static_url=DOCS_ASSETS_URL,
        title=title,
        summary=summary,
        description=description,
        version=version,
        contact=CONTACT,
        license_info=LICENSE,
        servers=SERVERS,
        openapi_tags=[*tags, OPERATIONS_TAG],
        generate_unique_id_function=operation_id,
        # Answered by middleware before any route runs, so documented on every operation.
        responses=problem_responses(431),
        lifespan=lifespan,
        swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
    )
