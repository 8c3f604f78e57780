"""``HttpProductClient``: the products service over one pooled ``httpx.AsyncClient``.

Every call has an overall deadline (retries and backoff included), bounded
jittered retries for failures that are safe to repeat, and goes through a
circuit breaker. Every answer maps to the exceptions ``LocalProductClient``
raises, so the two are interchangeable; anything unusable becomes
``ProductsUnavailable`` (503 + Retry-After at the orders edge).

Input is validated with the contract's request DTOs before anything is sent,
so invalid input raises pydantic's ``ValidationError`` exactly as the local
facade does. A ``validation_error`` answer from products therefore means the
two sides disagree about the contract: that is an operational fault, reported
as ``ProductsUnavailable`` with a detail that says so, never as a caller error.
"""

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Generic, TypeVar
from uuid import UUID

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport
from pydantic import BaseModel, Field, SecretStr, TypeAdapter, ValidationError
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from orders.adapters.product_clients.breaker import CircuitBreaker, Permit
from orders.adapters.product_clients.metrics import PRODUCT_CLIENT_RETRIES, observe_call
from orders.config import HttpTransport, Settings
from servicekit.requestid import current_request_id
from shop_contracts import paths
from shop_contracts.errors import (
    ErrorCode,
    IdempotencyKeyReused,
    InsufficientStock,
    Problem,
    ProductNotFound,
    ProductsUnavailable,
    ReservationExpired,
    ReservationNotFound,
    ReservationReleased,
)
from shop_contracts.products import Product, ProductLookup, ProductLookupRequest, StockCheck
from shop_contracts.reservations import Reservation, ReservationLineRequest, ReservationRequest

logger = logging.getLogger(__name__)

ModelT = TypeVar("ModelT", bound=BaseModel)
Sleep = Callable[[float], Awaitable[None]]

_TRANSIENT_STATUSES = frozenset({502, 503, 504})
_CREDENTIAL_STATUSES = frozenset({401, 403})
_ACCEPT = "application/json, application/problem+json"
_QUANTITY = TypeAdapter(Annotated[int, Field(ge=1)])
# Misconfiguration or a bug on our side: repeating cannot help, and it says
# nothing about the health of products.
_NON_TRANSIENT = (httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.InvalidURL)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded retries with exponential backoff and jitter (tenacity)."""

    max_attempts: int = 3
    initial_backoff: float = 0.05
    max_backoff: float = 0.5
    sleep: Sleep = asyncio.sleep


class HttpProductClient:
    """``ProductServiceClient`` over HTTP; does not own (or close) the injected client."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        service_token: SecretStr,
        breaker: CircuitBreaker,
        retry: RetryPolicy | None = None,
        deadline_seconds: float = 5.0,
    ) -> None:
        if deadline_seconds <= 0:
            raise ValueError("deadline_seconds must be positive")
        self._http = http
        self._token = service_token
        self._breaker = breaker
        self._retry = retry or RetryPolicy()
        self._deadline = deadline_seconds

    @property
    def breaker(self) -> CircuitBreaker:
        """The breaker guarding this client (readiness reports its state)."""
        return self._breaker

    async def get_product(self, product_id: UUID) -> Product:
        """One product; ``ProductNotFound`` if it does not exist."""
        return await self._call(
            _Call(
                "get_product",
                "GET",
                paths.PRODUCT.format(product_id=product_id),
                Product,
                subject_ids=(product_id,),
            )
        )

    async def lookup_products(self, product_ids: Sequence[UUID]) -> ProductLookup:
        """Many products in one round trip; unknown ids are listed in ``missing``."""
        body = ProductLookupRequest(ids=list(product_ids)).model_dump(mode="json")
        return await self._call(
            _Call("lookup_products", "POST", paths.PRODUCTS_LOOKUP, ProductLookup, json=body)
        )

    async def check_stock(self, product_id: UUID, quantity: int) -> StockCheck:
        """Whether ``quantity`` units are available now; nothing is held."""
        requested = _QUANTITY.validate_python(quantity)
        return await self._call(
            _Call(
                "check_stock",
                "GET",
                paths.PRODUCT_STOCK.format(product_id=product_id),
                StockCheck,
                params={"quantity": requested},
                subject_ids=(product_id,),
            )
        )

    async def reserve(
        self, reservation_key: str, lines: Sequence[ReservationLineRequest]
    ) -> Reservation:
        """Hold stock for every line or none; retry-safe because the key makes it idempotent."""
        request = ReservationRequest(reservation_key=reservation_key, lines=list(lines))
        return await self._call(
            _Call(
                "reserve",
                "POST",
                paths.RESERVATIONS,
                Reservation,
                json=request.model_dump(mode="json"),
                ok_statuses=frozenset({200, 201}),
            )
        )

    async def confirm(self, reservation_id: UUID) -> Reservation:
        """Make a hold permanent (idempotent); ``ReservationExpired`` once it lapsed."""
        return await self._reservation_call(
            "confirm", "POST", paths.RESERVATION_CONFIRM, reservation_id
        )

    async def release(self, reservation_id: UUID) -> Reservation:
        """Return a hold's stock (idempotent; from held or confirmed)."""
        return await self._reservation_call(
            "release", "POST", paths.RESERVATION_RELEASE, reservation_id
        )

    async def get_reservation(self, reservation_id: UUID) -> Reservation:
        """A reservation's current state; ``ReservationNotFound`` if unknown."""
        return await self._reservation_call(
            "get_reservation", "GET", paths.RESERVATION, reservation_id
        )

    async def _reservation_call(
        self, method: str, http_method: str, template: str, reservation_id: UUID
    ) -> Reservation:
        return await self._call(
            _Call(
                method,
                http_method,
                template.format(reservation_id=reservation_id),
                Reservation,
                reservation_id=reservation_id,
            )
        )

    async def _call(self, call: "_Call[ModelT]") -> ModelT:
        with observe_call("http", call.method):
            headers = self._headers()
            in_flight = _InFlight()
            try:
                async with asyncio.timeout(self._deadline):
                    response = await self._send_with_retries(call, headers, in_flight)
            except TimeoutError:
                if in_flight.permit is not None:
                    self._breaker.record_failure(in_flight.permit)
                logger.warning(
                    "products call exceeded its deadline",
                    extra={"method": call.method, "deadline_seconds": self._deadline},
                )
                raise ProductsUnavailable(
                    f"products did not answer {call.method} within {self._deadline:g}s"
                ) from None
            except asyncio.CancelledError:
                if in_flight.permit is not None:
                    self._breaker.abandon(in_flight.permit)
                raise
            return _decode(call, response)

    async def _send_with_retries(
        self, call: "_Call[Any]", headers: Mapping[str, str], in_flight: "_InFlight"
    ) -> httpx.Response:
        # The first attempt runs outside tenacity: its per-call machinery costs
        # about 0.25 ms, a fifth of the whole call budget at the measured
        # ~1,200 req/s (BENCHMARKS.md). On a retryable failure the loop below
        # replays that failure as its attempt 1, so counting and backoff are
        # exactly tenacity's.
        try:
            return await self._attempt(call, headers, in_flight)
        except (httpx.HTTPError, aiohttp.ClientError, _ServerError) as exc:
            if self._retry.max_attempts == 1 or retry_reason(exc, call.idempotent) is None:
                raise _unavailable(call, exc) from exc
            first_failure: BaseException | None = exc

        async def attempt() -> httpx.Response:
            nonlocal first_failure
            if first_failure is not None:
                failure, first_failure = first_failure, None
                raise failure
            return await self._attempt(call, headers, in_flight)

        policy = self._retry
        retrying = AsyncRetrying(
            stop=stop_after_attempt(policy.max_attempts),
            # multiplier=, not initial= (deprecated, and warnings are errors here);
            # jitter scaled to the base step so the first wait stays near it.
            wait=wait_exponential_jitter(
                multiplier=policy.initial_backoff,
                max=policy.max_backoff,
                jitter=policy.initial_backoff,
            ),
            retry=retry_if_exception(lambda exc: retry_reason(exc, call.idempotent) is not None),
            before_sleep=lambda state: _count_retry(call, state),
            sleep=policy.sleep,
            reraise=True,
        )
        try:
            return await retrying(attempt)
        except (httpx.HTTPError, aiohttp.ClientError, _ServerError) as exc:
            raise _unavailable(call, exc) from exc

    async def _attempt(
        self, call: "_Call[Any]", headers: Mapping[str, str], in_flight: "_InFlight"
    ) -> httpx.Response:
        permit = self._breaker.acquire()
        in_flight.permit = permit
        try:
            response = await self._http.request(
                call.http_method, call.path, json=call.json, params=call.params, headers=headers
            )
            if response.status_code >= 500:
                raise _ServerError(response)
        except asyncio.CancelledError:
            raise  # the caller of the attempt knows whether this was the deadline
        except Exception as exc:
            in_flight.permit = None
            if _is_unhealthy(exc):
                self._breaker.record_failure(permit)
            else:
                self._breaker.abandon(permit)
            raise
        in_flight.permit = None
        self._breaker.record_success(permit)
        return response

    def _headers(self) -> dict[str, str]:
        return {
            paths.SERVICE_TOKEN_HEADER: f"Bearer {self._token.get_secret_value()}",
            paths.REQUEST_ID_HEADER: current_request_id() or uuid.uuid4().hex,
            "Accept": _ACCEPT,
        }


def build_http_client(settings: Settings) -> httpx.AsyncClient:
    """The one pooled client per process (build in lifespan, ``aclose`` on shutdown)."""
    limits = httpx.Limits(
        max_connections=settings.products_max_connections,
        max_keepalive_connections=settings.products_max_connections,
    )
    transport: httpx.AsyncBaseTransport
    if settings.products_transport is HttpTransport.AIOHTTP:
        # Service-to-service traffic: no proxies or netrc from the environment.
        transport = AiohttpTransport(limits=limits, trust_env=False)
    else:
        transport = httpx.AsyncHTTPTransport(limits=limits, trust_env=False)
    return httpx.AsyncClient(
        base_url=settings.products_url.rstrip("/") + paths.API_PREFIX,
        timeout=httpx.Timeout(
            connect=settings.products_connect_timeout,
            read=settings.products_read_timeout,
            write=settings.products_read_timeout,
            pool=settings.products_pool_timeout,
        ),
        transport=transport,
        trust_env=False,
        follow_redirects=False,
        headers={"User-Agent": "orders-product-client"},
    )


def build_http_product_client(settings: Settings, http: httpx.AsyncClient) -> HttpProductClient:
    """An ``HttpProductClient`` configured from settings over the process's pooled client."""
    return HttpProductClient(
        http,
        service_token=settings.service_token,
        breaker=CircuitBreaker(
            settings.products_breaker_failure_threshold, settings.products_breaker_reset_seconds
        ),
        retry=RetryPolicy(
            max_attempts=settings.products_max_attempts,
            initial_backoff=settings.products_retry_initial_backoff,
            max_backoff=settings.products_retry_max_backoff,
        ),
        deadline_seconds=settings.products_deadline_seconds,
    )


def retry_reason(exc: BaseException, idempotent: bool) -> str | None:
    """Why ``exc`` may be retried (a metric label), or ``None`` if it must not be."""
    if _nothing_sent(exc):
        return "connect"
    if not idempotent or isinstance(exc, _NON_TRANSIENT):
        return None
    if isinstance(exc, _ServerError):
        return f"status_{exc.status}" if exc.status in _TRANSIENT_STATUSES else None
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.NetworkError | httpx.RemoteProtocolError):
        return "network"
    # httpx_aiohttp passes some aiohttp errors through unmapped (e.g. a
    # malformed response): the request went out, so treat like a protocol error.
    if isinstance(exc, aiohttp.ClientError):
        return "network"
    return None


def _nothing_sent(exc: BaseException) -> bool:
    """True when the request cannot have reached products, so any call may be retried."""
    if not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return False
    cause = exc.__cause__
    if isinstance(cause, aiohttp.ClientError):
        # httpx_aiohttp maps every aiohttp ClientConnectionError to ConnectTimeout,
        # including ServerDisconnectedError after the request was sent.
        return isinstance(cause, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError)
    return True


def _is_unhealthy(exc: BaseException) -> bool:
    """Failures that say products is down or sick (what the breaker counts)."""
    if isinstance(exc, _NON_TRANSIENT):
        return False
    return isinstance(exc, httpx.TransportError | aiohttp.ClientError | _ServerError)


def _count_retry(call: "_Call[Any]", state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome is not None else None
    reason = retry_reason(exc, call.idempotent) if exc is not None else None
    PRODUCT_CLIENT_RETRIES.labels(call.method, reason or "unknown").inc()
    logger.info(
        "retrying products call",
        extra={
            "method": call.method,
            "attempt": state.attempt_number,
            "reason": reason,
            "error": type(exc).__name__,
        },
    )


def _decode(call: "_Call[ModelT]", response: httpx.Response) -> ModelT:
    if response.status_code in call.ok_statuses:
        try:
            return call.model.model_validate_json(response.content)
        except ValidationError as exc:
            raise ProductsUnavailable(
                f"products answered {call.method} with an invalid {call.model.__name__} body"
            ) from exc
    raise _error_for(call, response)


def _error_for(call: "_Call[Any]", response: httpx.Response) -> Exception:
    status = response.status_code
    if status in _CREDENTIAL_STATUSES:
        logger.error(
            "products rejected the service credential",
            extra={"method": call.method, "status": status},
        )
        return ProductsUnavailable(
            f"products rejected the service credential (HTTP {status}); check APP_SERVICE_TOKEN"
        )
    try:
        problem = Problem.model_validate_json(response.content)
    except ValidationError:
        return ProductsUnavailable(
            f"products answered {call.method} with HTTP {status} and no usable problem body"
        )
    mapped = _domain_error(call, problem)
    if mapped is not None:
        return mapped
    if problem.code is ErrorCode.VALIDATION_ERROR:
        fields = ", ".join(p.name for p in problem.invalid_params or []) or "unspecified"
        return ProductsUnavailable(
            f"products rejected {call.method} as invalid ({fields}) although the client "
            "validated it: the two sides disagree about the contract"
        )
    return ProductsUnavailable(
        f"products answered {call.method} with HTTP {status} {problem.code.value}"
    )


def _domain_error(call: "_Call[Any]", problem: Problem) -> Exception | None:
    code = problem.code
    if code is ErrorCode.PRODUCT_NOT_FOUND:
        ids = problem.product_ids or list(call.subject_ids)
        return ProductNotFound(ids) if ids else None
    if code is ErrorCode.INSUFFICIENT_STOCK:
        return InsufficientStock(problem.product_ids) if problem.product_ids else None
    if code is ErrorCode.IDEMPOTENCY_KEY_REUSED:
        return IdempotencyKeyReused()
    reservation_id = call.reservation_id
    if reservation_id is None:
        return None
    if code is ErrorCode.RESERVATION_NOT_FOUND:
        return ReservationNotFound(reservation_id)
    if code is ErrorCode.RESERVATION_EXPIRED:
        return ReservationExpired(reservation_id)
    if code is ErrorCode.RESERVATION_RELEASED:
        return ReservationReleased(reservation_id)
    return None


def _unavailable(call: "_Call[Any]", exc: BaseException) -> ProductsUnavailable:
    if isinstance(exc, _ServerError):
        detail = f"products answered {call.method} with HTTP {exc.status}"
        retry_after = exc.retry_after
    else:
        detail = f"products unreachable for {call.method}: {type(exc).__name__}"
        retry_after = 1
    logger.warning(
        "products call failed", extra={"method": call.method, "error": type(exc).__name__}
    )
    return ProductsUnavailable(detail, retry_after=retry_after)


class _ServerError(Exception):
    """A 5xx answer: products (or a proxy in front of it) could not serve the call."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.status = response.status_code
        self.retry_after = _retry_after(response.headers.get("Retry-After"))


def _retry_after(value: str | None) -> int:
    if value is None or not value.strip().isdigit():
        return 1
    return max(1, min(int(value), 3_600))


@dataclass(frozen=True, slots=True)
class _Call(Generic[ModelT]):
    """One logical call: what to send, what success looks like, how to name errors."""

    method: str
    http_method: str
    path: str
    model: type[ModelT]
    json: Any = None
    params: Mapping[str, str | int] | None = None
    ok_statuses: Collection[int] = frozenset({200})
    subject_ids: tuple[UUID, ...] = ()
    reservation_id: UUID | None = None
    # Every current call is safe to repeat: reads, and reservation calls that
    # carry their key or id. A future call that is not must pass False, which
    # limits retries to failures where nothing reached products.
    idempotent: bool = True


@dataclass(slots=True)
class _InFlight:
    """The breaker permit of the attempt in progress, for the deadline handler."""

    permit: Permit | None = field(default=None)
