"""Bench-only bare FastAPI JSON endpoint: the load generator's and framework's ceiling.

Same uvicorn setup as the services (one worker, uvloop, httptools, no access
log), none of the services' middleware, auth or database.

    uvicorn --app-dir bench --factory ceiling_app:create_app
"""

from typing import Any

from fastapi import FastAPI

BODY: dict[str, Any] = {"status": "ok", "items": [{"n": 1}, {"n": 2}, {"n": 3}]}


def create_app() -> FastAPI:
    """One GET endpoint returning a small JSON body."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/ceiling")
    async def ceiling() -> dict[str, Any]:
        return BODY

    return app
