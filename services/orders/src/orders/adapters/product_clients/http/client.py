"""``HttpProductClient``: the products service over HTTP, the same answers as the local facade (ADRs 0004, 0024)."""

import asyncio
import logging
import uuid
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, TypeVar
from uuid import UUID

import httpx
from pydantic import BaseModel, Field, SecretStr, TypeAdapter

from orders.adapters.product_clients.backpressure import BulkheadFull
from orders.adapters.product_clients.boundary import METHODS
from orders.adapters.product_clients.http.errors import Expectation, decode, unavailable
from orders.adapters.product_clients.http.retries import RETRIES
from orders.adapters.product_clients.metrics import SEAM
from seam import Deadline
from seam.protect import Bulkhead, CallVerdicts, CircuitBreaker, HangWatch
from servicekit.deadlines import BUDGET_HEADER, remaining
from servicekit.http_client.failures import (
    ATTEMPT_FAILURES,
    ServerError,
    nothing_sent,
    server_unhealthy,
)
from servicekit.http_client.retries import RetryPolicy, with_retries
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
_ONCE = RetryPolicy(max_attempts=1)
PROBE_ATTEMPT_SECONDS = 1.0
"""A half-open probe that gets no answer in this long failed (products hung, not slow)."""


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
        read_deadline_seconds: float | None = None,
        hang_watch: HangWatch | None = None,
    ) -> None:
        if deadline_seconds <= 0:
            raise ValueError("deadline_seconds must be positive")
        self._http = http
        self._token = service_token
        self._breaker = breaker
        self._bulkhead = bulkhead or Bulkhead(
            _UNBOUNDED, 1.0, name="products", metrics=SEAM, refused=BulkheadFull
        )
        self._retry = retry or RetryPolicy()
        self._deadline = deadline_seconds
        self._read_deadline = min(read_deadline_seconds or deadline_seconds, deadline_seconds)
        self._hangs = hang_watch

    @property
    def hang_watch(self) -> HangWatch | None:
        """The watch that cuts calls when products stops answering."""
        return self._hangs

    def deadline_for(self, method: str) -> float:
        """The method table: reads get the short deadline, writes the long one."""
        return self._read_deadline if METHODS[method].deadline is Deadline.READ else self._deadline

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
        bulkhead = self._bulkhead
        hangs = self._hangs
        # Whether any attempt may have reached products: then a failed
        # reserve may still have made its hold (the caller releases by key).
        reached = False
        deadline = self.deadline_for(method)
        # Every method products offers is safe to repeat today (the table says so).
        retry = self._retry if METHODS[method].retry_safe else _ONCE
        left = remaining()
        if left is not None and left <= 0:
            raise ProductsUnavailable(f"no budget left for {method}", retry_after=1)
        loop = asyncio.get_running_loop()
        budget_ends = None if left is None else loop.time() + left
        ends = 0.0  # set once a slot is held

        async def attempt() -> httpx.Response:
            nonlocal reached
            verdicts.admit()
            started = loop.time()
            headers[BUDGET_HEADER] = str(max(0, int((ends - started) * 1000)))
            try:
                if verdicts.probing:
                    # A half-open probe must not hang its caller: no answer soon is a failure.
                    try:
                        async with asyncio.timeout(PROBE_ATTEMPT_SECONDS):
                            response = await self._send(http_method, path, json, params, headers)
                    except TimeoutError:
                        raise httpx.ReadTimeout("the half-open probe got no answer") from None
                else:
                    response = await self._send(http_method, path, json, params, headers)
                if hangs is not None:
                    hangs.progress()
                bulkhead.observe(loop.time() - started)
                if response.status_code >= 500:
                    raise ServerError(response.status_code, response.headers.get("Retry-After"))
            except asyncio.CancelledError:
                reached = True  # cut short mid-request: it may have gone out
                raise  # the deadline handler below knows whether this was the deadline
            except Exception as exc:
                reached = reached or not nothing_sent(exc)
                if isinstance(exc, httpx.TimeoutException) and not nothing_sent(exc):
                    bulkhead.dropped()  # sent, and no answer in time: too many in flight
                verdicts.failed(unhealthy=server_unhealthy(exc))
                raise
            verdicts.answered()
            return response

        # The deadline starts once a slot is held: time spent queueing in
        # orders is back-pressure, not products hanging (the caller's budget
        # still bounds the whole).
        async with bulkhead.slot(max_wait=left):
            # The method's deadline, or the caller's remaining budget if that ends first.
            ends = loop.time() + deadline
            if budget_ends is not None:
                ends = min(ends, budget_ends)
            cut_by_hang = _never
            try:
                async with asyncio.timeout_at(ends) as bound:
                    if hangs is None:
                        response = await with_retries(method, attempt, retry, RETRIES)
                    else:
                        with hangs.watching(bound) as cut_by_hang:
                            response = await with_retries(method, attempt, retry, RETRIES)
            except TimeoutError:
                hung = cut_by_hang()
                if hung:
                    verdicts.cancelled()  # the watch already opened the breaker
                else:
                    verdicts.deadline_passed()
                bulkhead.dropped()
                logger.warning(
                    "products call cut short",
                    extra={"method": method, "deadline_seconds": deadline, "hung": hung},
                )
                why = "stopped answering" if hung else f"did not answer within {deadline:g}s"
                raise ProductsUnavailable(
                    f"products {why} ({method})", maybe_applied=reached
                ) from None
            except asyncio.CancelledError:
                verdicts.cancelled()
                raise
            except (*ATTEMPT_FAILURES, ServerError) as exc:
                raise unavailable(method, exc, maybe_applied=reached) from exc
        return decode(expected, response)

    async def _send(
        self,
        http_method: str,
        path: str,
        json: Any,
        params: Mapping[str, str | int] | None,
        headers: dict[str, str],
    ) -> httpx.Response:
        return await self._http.request(
            http_method, path, json=json, params=params, headers=headers
        )

    def _headers(self) -> dict[str, str]:
        return {
            paths.SERVICE_TOKEN_HEADER: f"Bearer {self._token.get_secret_value()}",
            paths.REQUEST_ID_HEADER: current_request_id() or uuid.uuid4().hex,
            "Accept": _ACCEPT,
        }


def _never() -> bool:
    return False
