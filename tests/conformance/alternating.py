"""A test device: one ``ProductServiceClient`` whose successive calls alternate between two.

Canary routing keeps one placement on one client, but the reconciler, a retried
request after a share change, or a user moved by a widened share can touch a
reservation through the other client. Running the whole conformance suite
through a client that hands every call to the other of two clients (local,
http) proves that a hold made through one is confirmed, released, replayed and
read through the other exactly as through one client alone.
"""

from collections import Counter
from collections.abc import Sequence
from uuid import UUID

from orders.domain.product_client import ProductServiceClient
from shop_contracts.products import Product, ProductLookup, StockCheck
from shop_contracts.reservations import Reservation, ReservationLineRequest


class AlternatingProductClient:
    """Call n goes to ``clients[n % 2]``; ``served`` counts calls per client name."""

    def __init__(
        self, first: tuple[str, ProductServiceClient], second: tuple[str, ProductServiceClient]
    ) -> None:
        self._clients = (first, second)
        self._calls = 0
        self.served: Counter[str] = Counter()

    def _next(self) -> ProductServiceClient:
        # Picked when the call starts, so concurrent calls alternate too.
        name, client = self._clients[self._calls % 2]
        self._calls += 1
        self.served[name] += 1
        return client

    async def get_product(self, product_id: UUID) -> Product:
        """One product, from the next client."""
        return await self._next().get_product(product_id)

    async def lookup_products(self, product_ids: Sequence[UUID]) -> ProductLookup:
        """Many products, from the next client."""
        return await self._next().lookup_products(product_ids)

    async def check_stock(self, product_id: UUID, quantity: int) -> StockCheck:
        """A stock check, by the next client."""
        return await self._next().check_stock(product_id, quantity)

    async def reserve(
        self, reservation_key: str, lines: Sequence[ReservationLineRequest]
    ) -> Reservation:
        """A hold, through the next client."""
        return await self._next().reserve(reservation_key, lines)

    async def confirm(self, reservation_id: UUID) -> Reservation:
        """A confirmation, through the next client."""
        return await self._next().confirm(reservation_id)

    async def release(self, reservation_id: UUID) -> Reservation:
        """A release, through the next client."""
        return await self._next().release(reservation_id)

    async def release_by_key(self, reservation_key: str) -> Reservation:
        """A release by key, through the next client."""
        return await self._next().release_by_key(reservation_key)

    async def get_reservation(self, reservation_id: UUID) -> Reservation:
        """A reservation, read through the next client."""
        return await self._next().get_reservation(reservation_id)
