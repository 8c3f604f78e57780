"""The ``ProductServiceClient`` decorator that feeds the routed http calls to the canary fallback."""

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, TypeVar
from uuid import UUID

from orders.adapters.product_clients.backpressure import BulkheadFull
from orders.adapters.product_clients.http.bulkhead import on_slot
from orders.adapters.product_clients.metrics import outcome_of
from orders.domain.product_client import ProductServiceClient
from shop_contracts.products import Product, ProductLookup, StockCheck
from shop_contracts.reservations import Reservation, ReservationLineRequest

if TYPE_CHECKING:
    from orders.adapters.product_clients.fallback import CanaryFallback

T = TypeVar("T")

__all__ = ["GuardedProductClient"]


class GuardedProductClient:
    """A routed http client whose every call's latency and outcome feed the fallback.

    The latency runs from the moment the call holds a bulkhead slot (from its
    start if it never took one); a ``BulkheadFull`` rejection is not recorded.
    """

    def __init__(
        self,
        inner: ProductServiceClient,
        fallback: "CanaryFallback",
        *,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._inner = inner
        self._fallback = fallback
        self._timer = timer

    @property
    def inner(self) -> ProductServiceClient:
        """The http path's client."""
        return self._inner

    async def get_product(self, product_id: UUID) -> Product:
        """One product."""
        return await self._judged(lambda: self._inner.get_product(product_id))

    async def lookup_products(self, product_ids: Sequence[UUID]) -> ProductLookup:
        """Many products in one round trip."""
        return await self._judged(lambda: self._inner.lookup_products(product_ids))

    async def check_stock(self, product_id: UUID, quantity: int) -> StockCheck:
        """Whether ``quantity`` units are available now."""
        return await self._judged(lambda: self._inner.check_stock(product_id, quantity))

    async def reserve(
        self, reservation_key: str, lines: Sequence[ReservationLineRequest]
    ) -> Reservation:
        """Hold stock for every line or none."""
        return await self._judged(lambda: self._inner.reserve(reservation_key, lines))

    async def confirm(self, reservation_id: UUID) -> Reservation:
        """Make a hold permanent."""
        return await self._judged(lambda: self._inner.confirm(reservation_id))

    async def release(self, reservation_id: UUID) -> Reservation:
        """Return a hold's stock."""
        return await self._judged(lambda: self._inner.release(reservation_id))

    async def release_by_key(self, reservation_key: str) -> Reservation:
        """Return whatever is held under a key and retire the key."""
        return await self._judged(lambda: self._inner.release_by_key(reservation_key))

    async def get_reservation(self, reservation_id: UUID) -> Reservation:
        """A reservation's current state."""
        return await self._judged(lambda: self._inner.get_reservation(reservation_id))

    async def _judged(self, call: Callable[[], Awaitable[T]]) -> T:
        generation = self._fallback.generation
        start = [self._timer()]

        def slot_taken() -> None:
            start[-1] = self._timer()  # the wait for the slot is orders' queueing

        with on_slot(slot_taken):
            try:
                result = await call()
            except asyncio.CancelledError:
                raise  # the caller gave up: says nothing about products
            except BulkheadFull:
                raise  # orders' back-pressure, never a products failure (ADR 0009)
            except BaseException as exc:
                self._fallback.record(self._timer() - start[-1], outcome_of(exc), generation)
                raise
        self._fallback.record(self._timer() - start[-1], outcome_of(None), generation)
        return result
