"""``HttpProductClient``: the products service over one pooled ``httpx.AsyncClient``.

A call first takes a bulkhead slot (bounded wait), then runs under an overall
deadline (retries and backoff included) with bounded jittered retries, each
attempt admitted by the circuit breaker. Every answer maps to the exceptions
``LocalProductClient`` raises, so the two are interchangeable; anything
unusable becomes ``ProductsUnavailable`` (503 + Retry-After at the orders edge).

Input is validated with the contract's request DTOs before anything is sent,
so invalid input raises pydantic's ``ValidationError`` exactly as the local
facade does.
"""

import asyncio
import logging
import uuid
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, TypeVar
from uuid import UUID

import httpx
from pydantic import BaseModel, Field, SecretStr, TypeAdapter

from orders.adapters.product_clients.breaker import CallVerdicts, CircuitBreaker
from orders.adapters.product_clients.http.bulkhead import Bulkhead
from orders.adapters.product_clients.http.errors import Expectation, decode, unavailable
from orders.adapters.product_clients.http.failures import (
    ATTEMPT_FAILURES,
    ServerError,
    nothing_sent,
    products_unhealthy,
)
from orders.adapters.product_clients.http.retries import RetryPolicy, with_retries
from servicekit.requestid import current_request_id
from shop_contracts import paths
from shop_contracts.errors import ProductsUnavailable
from shop_contracts.products import Product, ProductLookup, ProductLookupRequest, StockCheck
from shop_contracts.reservations import (
    Reservation,
    ReservationKeyRelease,
    ReservationLineRequest,
    ReservationRequest,
)

logger = logging.getLogger(__name__)

ModelT = TypeVar("ModelT", bound=BaseModel)

_ACCEPT = "application/json, application/problem+json"
_QUANTITY = TypeAdapter(Annotated[int, Field(ge=1)])
_UNBOUNDED = 1_000_000


class HttpProductClient:
    """``ProductServiceClient`` over HTTP; does not own (or close) the injected client."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        service_token: SecretStr,
        breaker: CircuitBreaker,
        bulkhead: Bulkhead | None = None,
        retry: RetryPolicy | None = None,
        deadline_seconds: float = 5.0,
    ) -> None:
        if deadline_seconds <= 0:
            raise ValueError("deadline_seconds must be positive")
        self._http = http
        self._token = service_token
        self._breaker = breaker
        self._bulkhead = bulkhead or Bulkhead(_UNBOUNDED, 1.0)
        self._retry = retry or RetryPolicy()
        self._deadline = deadline_seconds

    @property
    def breaker(self) -> CircuitBreaker:
        """The breaker guarding this client (readiness reports its state)."""
        return self._breaker

    @property
    def bulkhead(self) -> Bulkhead:
        """The bulkhead bounding this client's concurrency (readiness reports its load)."""
        return self._bulkhead

    async def get_product(self, product_id: UUID) -> Product:
        """One product; ``ProductNotFound`` if it does not exist."""
        return await self._call(
            Expectation("get_product", Product, subject_ids=(product_id,)),
            "GET",
            paths.PRODUCT.format(product_id=product_id),
        )

    async def lookup_products(self, product_ids: Sequence[UUID]) -> ProductLookup:
        """Many products in one round trip; unknown ids are listed in ``missing``."""
        body = ProductLookupRequest(ids=list(product_ids)).model_dump(mode="json")
        return await self._call(
            Expectation("lookup_products", ProductLookup),
            "POST",
            paths.PRODUCTS_LOOKUP,
            json=body,
        )

    async def check_stock(self, product_id: UUID, quantity: int) -> StockCheck:
        """Whether ``quantity`` units are available now; nothing is held."""
        requested = _QUANTITY.validate_python(quantity)
        return await self._call(
            Expectation("check_stock", StockCheck, subject_ids=(product_id,)),
            "GET",
            paths.PRODUCT_STOCK.format(product_id=product_id),
            params={"quantity": requested},
        )

    async def reserve(
        self, reservation_key: str, lines: Sequence[ReservationLineRequest]
    ) -> Reservation:
        """Hold stock for every line or none; retry-safe because the key makes it idempotent."""
        request = ReservationRequest(reservation_key=reservation_key, lines=list(lines))
        return await self._call(
            Expectation("reserve", Reservation, ok_statuses=frozenset({200, 201})),
            "POST",
            paths.RESERVATIONS,
            json=request.model_dump(mode="json"),
        )

    async def confirm(self, reservation_id: UUID) -> Reservation:
        """Make a hold permanent (idempotent); ``ReservationExpired`` once it lapsed."""
        return await self._by_id("confirm", "POST", paths.RESERVATION_CONFIRM, reservation_id)

    async def release(self, reservation_id: UUID) -> Reservation:
        """Return a hold's stock (idempotent; from held or confirmed)."""
        return await self._by_id("release", "POST", paths.RESERVATION_RELEASE, reservation_id)

    async def release_by_key(self, reservation_key: str) -> Reservation:
        """Return whatever is held under a key and retire the key (idempotent)."""
        request = ReservationKeyRelease(reservation_key=reservation_key)
        return await self._call(
            Expectation("release_by_key", Reservation),
            "POST",
            paths.RESERVATIONS_RELEASE_BY_KEY,
            json=request.model_dump(mode="json"),
        )

    async def get_reservation(self, reservation_id: UUID) -> Reservation:
        """A reservation's current state; ``ReservationNotFound`` if unknown."""
        return await self._by_id("get_reservation", "GET", paths.RESERVATION, reservation_id)

    async def _by_id(
        self, method: str, http_method: str, template: str, reservation_id: UUID
    ) -> Reservation:
        return await self._call(
            Expectation(method, Reservation, reservation_id=reservation_id),
            http_method,
            template.format(reservation_id=reservation_id),
        )

    async def _call(
        self,
        expected: Expectation[ModelT],
        http_method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str | int] | None = None,
    ) -> ModelT:
        method = expected.method
        headers = self._headers()
        verdicts = CallVerdicts(self._breaker)
        # Whether any attempt may have reached products: then a failed
        # reserve may still have made its hold (the caller releases by key).
        reached = False

        async def attempt() -> httpx.Response:
            nonlocal reached
            verdicts.admit()
            try:
                response = await self._http.request(
                    http_method, path, json=json, params=params, headers=headers
                )
                if response.status_code >= 500:
                    raise ServerError(response.status_code, response.headers.get("Retry-After"))
            except asyncio.CancelledError:
                reached = True  # cut short mid-request: it may have gone out
                raise  # the deadline handler below knows whether this was the deadline
            except Exception as exc:
                reached = reached or not nothing_sent(exc)
                verdicts.failed(products_unhealthy=products_unhealthy(exc))
                raise
            verdicts.answered()
            return response

        # The deadline starts once a slot is held: time spent queueing in
        # orders is back-pressure, not products hanging.
        async with self._bulkhead.slot():
            try:
                async with asyncio.timeout(self._deadline):
                    response = await with_retries(method, attempt, self._retry)
            except TimeoutError:
                verdicts.deadline_passed()
                logger.warning(
                    "products call exceeded its deadline",
                    extra={"method": method, "deadline_seconds": self._deadline},
                )
                raise ProductsUnavailable(
                    f"products did not answer {method} within {self._deadline:g}s",
                    maybe_applied=reached,
                ) from None
            except asyncio.CancelledError:
                verdicts.cancelled()
                raise
            except (*ATTEMPT_FAILURES, ServerError) as exc:
                raise unavailable(method, exc, maybe_applied=reached) from exc
        return decode(expected, response)

    def _headers(self) -> dict[str, str]:
        return {
            paths.SERVICE_TOKEN_HEADER: f"Bearer {self._token.get_secret_value()}",
            paths.REQUEST_ID_HEADER: current_request_id() or uuid.uuid4().hex,
            "Accept": _ACCEPT,
        }
