"""Install the shared plumbing on a FastAPI app in one call."""

from collections.abc import Mapping

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from servicekit.auth import fetch_keys_at_startup, user_token_verifier
from servicekit.deadlines import BudgetMiddleware
from servicekit.gcfreeze import freeze_after_startup
from servicekit.health import ReadinessCheck, health_router
from servicekit.http import (
    BodySizeLimitMiddleware,
    HeaderSizeLimitMiddleware,
    SecurityHeadersMiddleware,
)
from servicekit.logging import ensure_logging
from servicekit.metrics import MetricsMiddleware, metrics_router, release_gauges_on_shutdown
from servicekit.problems import UnhandledErrorMiddleware, install_problem_handlers
from servicekit.requestid import RequestIdMiddleware
from servicekit.settings import ServiceSettings
from servicekit.tracing import configure_tracing, instrument_app
from shop_contracts.errors import ErrorCode


def install_plumbing(
    app: FastAPI,
    settings: ServiceSettings,
    service: str,
    readiness: Mapping[str, ReadinessCheck] | None = None,
    *,
    budget_code: ErrorCode | None = None,
) -> None:
    """User tokens, logging, tracing, problem handlers, health, metrics, request id, limits, CORS.

    Middleware order (outermost first): [tracing, when ``OTEL_TRACES_EXPORTER`` is set] →
    request id → unhandled-error guard → metrics → header limit → body limit → security
    headers → CORS → app, so every response, even a 413 or a 431, carries the request id
    and is measured, and every log line of a traced request carries its trace id.
    With ``budget_code``, requests carrying ``X-Request-Budget-Ms`` run bounded by it
    (``servicekit.deadlines``, just inside the metrics), refused with that code once spent.
    In multiprocess metrics mode, the worker's ``live*`` gauges are dropped when its
    lifespan ends; what start-up built is frozen out of the garbage collector's walks;
    the identity provider's keys (with ``APP_JWT_JWKS_URL``) are fetched at start-up.
    """
    ensure_logging(service, settings.log_level, settings.log_json)
    configure_tracing(service)
    app.state.settings = settings
    app.state.user_tokens = user_token_verifier(settings)
    app.state.readiness = dict(readiness or {})
    install_problem_handlers(app)
    app.include_router(health_router())
    app.include_router(metrics_router())
    release_gauges_on_shutdown(app)
    freeze_after_startup(app)
    fetch_keys_at_startup(app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PATCH", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Location", "Retry-After"],
        )
    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.is_production)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(HeaderSizeLimitMiddleware, max_bytes=settings.max_header_bytes)
    if budget_code is not None:
        app.add_middleware(BudgetMiddleware, code=budget_code)
    app.add_middleware(MetricsMiddleware, service=service)
    app.add_middleware(UnhandledErrorMiddleware)
    app.add_middleware(RequestIdMiddleware)
    instrument_app(app)
