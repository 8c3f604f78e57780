"""``ObservedProductClient``: one span and one latency observation per call, in every mode.

The composition root wraps whichever client ``APP_PRODUCTS_CLIENT`` builds, so a
trace and the ``orders_product_client_call_duration_seconds`` series read the
same in local, http and shadow mode: same span name, same attributes, same
labels, with only ``mode`` telling them apart. No client implementation records
its own copy.
"""

from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar
from uuid import UUID

from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer

from orders.adapters.product_clients.metrics import observe_call
from orders.domain.product_client import ProductServiceClient
from shop_contracts.errors import DomainError
from shop_contracts.products import Product, ProductLookup, StockCheck
from shop_contracts.reservations import Reservation, ReservationLineRequest

T = TypeVar("T")

SPAN_PREFIX = "product_client."
MODE_ATTRIBUTE = "product_client.mode"
METHOD_ATTRIBUTE = "product_client.method"
PROBLEM_CODE_ATTRIBUTE = "product_client.problem_code"
ERROR_TYPE_ATTRIBUTE = "error.type"


class ObservedProductClient:
    """Decorates a ``ProductServiceClient``: metrics always, a span when tracing is on."""

    def __init__(
        self, inner: ProductServiceClient, mode: str, tracer: Tracer | None = None
    ) -> None:
        self._inner = inner
        self._mode = mode
        self._tracer = tracer

    @property
    def inner(self) -> ProductServiceClient:
        """The client whose calls are observed."""
        return self._inner

    @property
    def mode(self) -> str:
        """The ``mode`` label and span attribute of every call."""
        return self._mode

    async def get_product(self, product_id: UUID) -> Product:
        """One product; ``ProductNotFound`` if it does not exist."""
        return await self._observe("get_product", lambda: self._inner.get_product(product_id))

    async def lookup_products(self, product_ids: Sequence[UUID]) -> ProductLookup:
        """Many products in one round trip."""
        return await self._observe(
            "lookup_products", lambda: self._inner.lookup_products(product_ids)
        )

    async def check_stock(self, product_id: UUID, quantity: int) -> StockCheck:
        """Whether ``quantity`` units are available now."""
        return await self._observe(
            "check_stock", lambda: self._inner.check_stock(product_id, quantity)
        )

    async def reserve(
        self, reservation_key: str, lines: Sequence[ReservationLineRequest]
    ) -> Reservation:
        """Hold stock for every line or none."""
        return await self._observe("reserve", lambda: self._inner.reserve(reservation_key, lines))

    async def confirm(self, reservation_id: UUID) -> Reservation:
        """Make a hold permanent."""
        return await self._observe("confirm", lambda: self._inner.confirm(reservation_id))

    async def release(self, reservation_id: UUID) -> Reservation:
        """Return a hold's stock."""
        return await self._observe("release", lambda: self._inner.release(reservation_id))

    async def release_by_key(self, reservation_key: str) -> Reservation:
        """Return whatever is held under a key and retire the key."""
        return await self._observe(
            "release_by_key", lambda: self._inner.release_by_key(reservation_key)
        )

    async def get_reservation(self, reservation_id: UUID) -> Reservation:
        """A reservation's current state."""
        return await self._observe(
            "get_reservation", lambda: self._inner.get_reservation(reservation_id)
        )

    async def _observe(self, method: str, call: Callable[[], Awaitable[T]]) -> T:
        with observe_call(self._mode, method):
            if self._tracer is None:
                return await call()
            with self._tracer.start_as_current_span(
                SPAN_PREFIX + method,
                kind=SpanKind.INTERNAL,
                attributes={MODE_ATTRIBUTE: self._mode, METHOD_ATTRIBUTE: method},
                record_exception=False,
                set_status_on_exception=False,
            ) as span:
                try:
                    return await call()
                except BaseException as exc:
                    mark_failed(span, exc)
                    raise


def mark_failed(span: Span, exc: BaseException) -> None:
    """Error status, ``error.type`` and (for a contract error) its problem ``code``."""
    if isinstance(exc, DomainError):
        error_type = exc.code.value
        span.set_attribute(PROBLEM_CODE_ATTRIBUTE, error_type)
    else:
        error_type = type(exc).__qualname__
    span.set_attribute(ERROR_TYPE_ATTRIBUTE, error_type)
    span.record_exception(exc)
    span.set_status(Status(StatusCode.ERROR, f"{error_type}: {exc}"))
