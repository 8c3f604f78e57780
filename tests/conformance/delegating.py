"""A test device's base: a ``ProductServiceClient`` that hands each call to a client it picks.

``AlternatingProductClient`` and ``RoutedProductClient`` differ only in how they
pick the client for a call (``_client``); every method delegates the same way.
The pick happens when the call starts, so concurrent calls are picked in order.
"""

from abc import ABC, abstractmethod
from collections.abc import Sequence
from uuid import UUID

from orders.domain.product_client import ProductServiceClient
from shop_contracts.products import Product, ProductLookup, StockCheck
from shop_contracts.reservations import Reservation, ReservationLineRequest


class DelegatingProductClient(ABC):
    """Every method is the same method of ``self._client()``, picked afresh per call."""

    @abstractmethod
    def _client(self) -> ProductServiceClient:
        """The client that serves the call being made."""

    async def get_product(self, product_id: UUID) -> Product:
        """One product, from the picked client."""
        return await self._client().get_product(product_id)

    async def lookup_products(self, product_ids: Sequence[UUID]) -> ProductLookup:
        """Many products, from the picked client."""
        return await self._client().lookup_products(product_ids)

    async def check_stock(self, product_id: UUID, quantity: int) -> StockCheck:
        """A stock check, by the picked client."""
        return await self._client().check_stock(product_id, quantity)

    async def reserve(
        self, reservation_key: str, lines: Sequence[ReservationLineRequest]
    ) -> Reservation:
        """A hold, through the picked client."""
        return await self._client().reserve(reservation_key, lines)

    async def confirm(self, reservation_id: UUID) -> Reservation:
        """A confirmation, through the picked client."""
        return await self._client().confirm(reservation_id)

    async def release(self, reservation_id: UUID) -> Reservation:
        """A release, through the picked client."""
        return await self._client().release(reservation_id)

    async def release_by_key(self, reservation_key: str) -> Reservation:
        """A release by key, through the picked client."""
        return await self._client().release_by_key(reservation_key)

    async def get_reservation(self, reservation_id: UUID) -> Reservation:
        """A reservation, read through the picked client."""
        return await self._client().get_reservation(reservation_id)
