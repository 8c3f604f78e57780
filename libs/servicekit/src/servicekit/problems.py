"""RFC 9457 problem+json responses with a stable ``code`` for every error path."""

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicekit.db_errors import RETRY_AFTER_SECONDS, database_unavailable
from servicekit.requestid import current_request_id
from shop_contracts.errors import DomainError, ErrorCode, Problem, ProductsUnavailable

PROBLEM_MEDIA_TYPE = "application/problem+json"
_HTTP_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")

logger = logging.getLogger(__name__)

_STATUS_CODES: dict[int, ErrorCode] = {
    400: ErrorCode.MALFORMED_REQUEST,
    401: ErrorCode.NOT_AUTHENTICATED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    413: ErrorCode.BODY_TOO_LARGE,
    422: ErrorCode.VALIDATION_ERROR,
    503: ErrorCode.SERVICE_UNAVAILABLE,
}


class ProblemResponse(JSONResponse):
    """A JSON response served as ``application/problem+json``."""

    media_type = PROBLEM_MEDIA_TYPE


class HttpProblem(Exception):
    """Raise from an endpoint or dependency to answer with a problem of a given code."""

    def __init__(
        self,
        status: int,
        code: ErrorCode,
        title: str,
        detail: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.headers = headers


def problem_response(
    status: int,
    code: ErrorCode,
    title: str,
    detail: str | None = None,
    *,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> ProblemResponse:
    """Build the problem+json response every error path goes through."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "code": code.value,
        "request_id": current_request_id(),
    }
    if detail is not None:
        body["detail"] = detail
    if instance is not None:
        body["instance"] = instance
    body.update({k: v for k, v in extensions.items() if v is not None})
    return ProblemResponse(body, status_code=status, headers=headers)


def _domain_error(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, DomainError)
    headers = None
    if isinstance(exc, ProductsUnavailable):
        headers = {"Retry-After": str(exc.retry_after)}
        if exc.__cause__ is not None:
            # The answer says only "unavailable"; the log says why (the database
            # refused a connection, a deadlock, a dependency's 5xx...).
            logger.warning(
                "%s %s answered 503: %s: %s",
                request.method,
                request.url.path,
                type(exc.__cause__).__name__,
                exc.__cause__,
            )
    return problem_response(
        exc.status,
        exc.code,
        exc.title,
        exc.detail,
        instance=request.url.path,
        headers=headers,
        **exc.extensions(),
    )


def _http_problem(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, HttpProblem)
    return problem_response(
        exc.status, exc.code, exc.title, exc.detail, instance=request.url.path, headers=exc.headers
    )


def _validation_error(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return problem_response(
            400,
            ErrorCode.MALFORMED_REQUEST,
            "Malformed request body",
            "The request body is not valid JSON.",
            instance=request.url.path,
        )
    params = [
        {
            "name": ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "body",
            "reason": str(e.get("msg", "invalid")),
        }
        for e in errors
    ]
    return problem_response(
        422,
        ErrorCode.VALIDATION_ERROR,
        "Request validation failed",
        "; ".join(f"{p['name']}: {p['reason']}" for p in params),
        instance=request.url.path,
        invalid_params=params,
    )


def _starlette_http(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _STATUS_CODES.get(exc.status_code, ErrorCode.INTERNAL_ERROR)
    title = {
        404: "Not found",
        405: "Method not allowed",
        401: "Not authenticated",
        403: "Forbidden",
    }.get(exc.status_code, "HTTP error")
    detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
    headers = dict(exc.headers) if exc.headers else None
    if exc.status_code == 405:
        headers = {**(headers or {}), "Allow": _allowed_methods(request)}
    return problem_response(
        exc.status_code, code, title, detail, instance=request.url.path, headers=headers
    )


def _allowed_methods(request: Request) -> str:
    """Every method some route serves at this path.

    Starlette's own ``Allow`` names only the first route whose path matched, so
    a path served by two routers (``GET`` public, ``POST`` admin) advertised
    half of its methods. Asking each route about each method uses only the
    public ``BaseRoute.matches``, whatever the router nests.
    """
    routes = request.app.router.routes
    return ", ".join(
        method
        for method in _HTTP_METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    )


def _database_unavailable(path: str) -> ProblemResponse:
    return problem_response(
        503,
        ErrorCode.DATABASE_UNAVAILABLE,
        "Database unavailable",
        "The service's database cannot be reached right now; retry with the same"
        " request (and Idempotency-Key) after the Retry-After delay.",
        instance=path,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def _internal_error(path: str) -> ProblemResponse:
    return problem_response(
        500,
        ErrorCode.INTERNAL_ERROR,
        "Internal error",
        "An unexpected error occurred; quote the request id when reporting it.",
        instance=path,
    )


class UnhandledErrorMiddleware:
    """Turn an exception no handler took into a problem, inside the request-id scope.

    A database outage (``servicekit.db_errors``) is a 503 ``database_unavailable``
    with ``Retry-After``, in every service and on every route: the same request
    may succeed once the database answers again. Anything else is a 500.

    Starlette sends such errors to its outermost ServerErrorMiddleware, which
    runs after the request id is gone; catching them here keeps the id in the
    body, the header and the log line, and never leaks the exception text.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if database_unavailable(exc):
                # Expected while the database restarts: the cause, without a traceback.
                logger.warning(
                    "%s %s answered 503: database unavailable: %s: %s",
                    scope.get("method"),
                    scope["path"],
                    type(exc).__name__,
                    exc,
                )
                answer = _database_unavailable(scope["path"])
            else:
                logger.exception("unhandled error on %s %s", scope.get("method"), scope["path"])
                answer = _internal_error(scope["path"])
            if started:
                raise
            await answer(scope, receive, send)


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error the app can produce a problem+json body with a stable code."""
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(HttpProblem, _http_problem)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _starlette_http)


_PROBLEM_CONTENT = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}

_DESCRIPTIONS = {
    400: "Malformed request (e.g. body is not valid JSON)",
    401: "Missing or invalid credentials",
    402: "The payment provider declined or failed the charge or refund",
    403: "Authenticated but not allowed",
    404: "Resource not found",
    409: "Conflict with the current state",
    413: "Request body too large",
    431: "Request header fields too large",
    422: "Request validation failed",
    503: "A dependency is unavailable (`database_unavailable`, `products_unavailable`);"
    " retry after the Retry-After delay, a write with the same Idempotency-Key",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries documenting problem+json errors for the given statuses."""
    return {
        status: {
            "description": _DESCRIPTIONS.get(status, "Error"),
            "model": Problem,
            "content": _PROBLEM_CONTENT,
        }
        for status in statuses
    }
