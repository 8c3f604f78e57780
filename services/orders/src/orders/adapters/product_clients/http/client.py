"""``HttpProductClient``: the products service over HTTP, the same answers as the local facade (ADRs 0004, 0024)."""

import uuid
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, TypeVar
from uuid import UUID

import httpx
from pydantic import BaseModel, Field, SecretStr, TypeAdapter

from orders.adapters.product_clients.boundary import METHODS
from orders.adapters.product_clients.http.errors import Expectation, decode
from seam import Deadline
from servicekit.http_client.guard import Guard
from servicekit.http_client.retries import RetryPolicy
from servicekit.requestid import current_request_id
from shop_contracts import paths
from shop_contracts.products import Product, ProductLookup, ProductLookupRequest, StockCheck
from shop_contracts.reservations import (
    Reservation,
    ReservationKeyRelease,
    ReservationLineRequest,
    ReservationRequest,
)

ModelT = TypeVar("ModelT", bound=BaseModel)

_ACCEPT = "application/json, application/problem+json"
_QUANTITY = TypeAdapter(Annotated[int, Field(ge=1)])
_ONCE = RetryPolicy(max_attempts=1)


class HttpProductClient:
    """``ProductServiceClient`` over HTTP; does not own (or close) the injected client.

    Every call goes through ``guard`` (servicekit's breaker, bulkhead, deadline,
    hang watch and retries); this class knows products' paths, bodies and errors.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        service_token: SecretStr,
        guard: Guard,
        retry: RetryPolicy | None = None,
        deadline_seconds: float = 5.0,
        read_deadline_seconds: float | None = None,
    ) -> None:
        if deadline_seconds <= 0:
            raise ValueError("deadline_seconds must be positive")
        self._http = http
        self._token = service_token
        self.guard = guard
        self._retry = retry or RetryPolicy()
        self._deadline = deadline_seconds
        self._read_deadline = min(read_deadline_seconds or deadline_seconds, deadline_seconds)

    def deadline_for(self, method: str) -> float:
        """The method table: reads get the short deadline, writes the long one."""
        return self._read_deadline if METHODS[method].deadline is Deadline.READ else self._deadline

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

        async def send(headers: dict[str, str]) -> httpx.Response:
            return await self._http.request(
                http_method, path, json=json, params=params, headers=headers
            )

        response = await self.guard.call(
            method,
            send,
            self._headers(),
            deadline=self.deadline_for(method),
            # Every method products offers is safe to repeat today (the table says so).
            retry=self._retry if METHODS[method].retry_safe else _ONCE,
        )
        return decode(expected, response)

    def _headers(self) -> dict[str, str]:
        return {
            paths.SERVICE_TOKEN_HEADER: f"Bearer {self._token.get_secret_value()}",
            paths.REQUEST_ID_HEADER: current_request_id() or uuid.uuid4().hex,
            "Accept": _ACCEPT,
        }
