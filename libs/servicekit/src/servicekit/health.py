"""``/health/live`` (the process answers) and ``/health/ready`` (its dependencies do)."""

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

ReadinessCheck = Callable[[], Awaitable[dict[str, Any]]]
"""Returns details when healthy; raises when not. Registered on ``app.state.readiness``."""

_CHECK_TIMEOUT_SECONDS = 2.0


async def _run(check: ReadinessCheck) -> tuple[bool, dict[str, Any]]:
    try:
        details = await asyncio.wait_for(check(), timeout=_CHECK_TIMEOUT_SECONDS)
    except Exception as exc:  # a failing dependency is a result here, not an error
        return False, {"status": "down", "error": type(exc).__name__}
    return True, {"status": "up", **details}


def health_router() -> APIRouter:
    """Liveness and readiness endpoints."""
    router = APIRouter(prefix="/health", tags=["operations"])

    @router.get("/live", summary="Liveness: the process is serving requests")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/ready",
        summary="Readiness: database reachable, and dependencies reported",
        responses={503: {"description": "A required dependency is down"}},
    )
    async def ready(request: Request) -> JSONResponse:
        checks: Mapping[str, ReadinessCheck] = getattr(request.app.state, "readiness", {})
        results = dict(
            zip(checks, await asyncio.gather(*(_run(c) for c in checks.values())), strict=True)
        )
        healthy = all(ok for ok, _ in results.values())
        body = {
            "status": "ok" if healthy else "unavailable",
            "checks": {name: details for name, (_, details) in results.items()},
        }
        return JSONResponse(body, status_code=200 if healthy else 503)

    return router
