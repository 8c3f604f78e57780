"""``/health/live`` (the process answers) and ``/health/ready`` (its dependencies do)."""

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from servicekit.docs import PUBLIC

ReadinessCheck = Callable[[], Awaitable[dict[str, Any]]]
"""Returns details when healthy; raises when not. Registered on ``app.state.readiness``."""

_CHECK_TIMEOUT_SECONDS = 2.0


class Liveness(BaseModel):
    """The process answers."""

    status: Literal["ok"]


class CheckResult(BaseModel):
    """One dependency's report; further members carry its details (mode, breaker state, ...)."""

    model_config = ConfigDict(extra="allow")

    status: str = Field(
        description="`up`, `down` (the service is not ready) or `degraded` (reported, still ready)",
        examples=["up"],
    )
    error: str | None = Field(default=None, description="The failure's type, when `down`")


class Readiness(BaseModel):
    """Every dependency check, and whether the service should receive traffic."""

    status: Literal["ok", "unavailable"]
    checks: dict[str, CheckResult]


async def _run(check: ReadinessCheck) -> tuple[bool, dict[str, Any]]:
    try:
        details = await asyncio.wait_for(check(), timeout=_CHECK_TIMEOUT_SECONDS)
    except Exception as exc:  # a failing dependency is a result here, not an error
        return False, {"status": "down", "error": type(exc).__name__}
    return True, {"status": "up", **details}


def health_router() -> APIRouter:
    """Liveness and readiness endpoints."""
    router = APIRouter(prefix="/health", tags=["operations"])

    @router.get("/live", summary="Liveness: the process is serving requests", openapi_extra=PUBLIC)
    async def liveness() -> Liveness:
        """Answers 200 while the process serves requests; it checks no dependency."""
        return Liveness(status="ok")

    @router.get(
        "/ready",
        summary="Readiness: database reachable, and dependencies reported",
        openapi_extra=PUBLIC,
        responses={
            200: {"model": Readiness, "description": "Every required dependency is up"},
            503: {"model": Readiness, "description": "A required dependency is down"},
        },
    )
    async def readiness(request: Request) -> JSONResponse:
        """Runs every registered check (2 s each); 503 when any required one fails."""
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
