"""The app both services start from, with docs pages that load nothing from the internet.

FastAPI's default ``/docs`` and ``/redoc`` pull Swagger UI, ReDoc and a favicon
from public CDNs, so they stay blank without internet access. ``fastapi-offline``
(MIT; Swagger UI, ReDoc and favicon shipped in its wheel, released with new
Swagger UI versions) serves the same pages from the installed package instead.
"""

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

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

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def service_app(
    *, title: str, summary: str, description: str, version: str, lifespan: Lifespan
) -> FastAPI:
    """A FastAPI app whose ``/docs`` and ``/redoc`` use the assets installed with the project."""
    return FastAPIOffline(
        docs_url=DOCS_URL,
        redoc_url=REDOC_URL,
        static_url=DOCS_ASSETS_URL,
        title=title,
        summary=summary,
        description=description,
        version=version,
        lifespan=lifespan,
        swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
    )
