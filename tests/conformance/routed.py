"""A test device: one user's successive calls, each routed as a request is (``ProductClientRouter``).

Every call asks the router afresh for the client that serves this user under
these flags, as each request of a canary user does at the entrypoint, so the
conformance suite runs through the router that orders ships.
"""

from collections.abc import Sequence
from uuid import UUID

from orders.adapters.product_clients.routing import ProductClientRouter
from orders.config import FeatureFlags
from orders.domain.product_client import ProductServiceClient
from shop_contracts.products import Product, ProductLookup, StockCheck
from shop_contracts.reservations import Reservation, ReservationLineRequest


class RoutedProductClient:
    """Each call goes to ``router.choose(flags, user_id)``."""

    def __init__(self, router: ProductClientRouter, flags: FeatureFlags, user_id: str) -> None:
        self._router = router
        self._flags = flags
        self._user_id = user_id

    def _client(self) -> ProductServiceClient:
        return self._router.choose(self._flags, self._user_id)

    async def get_product(self, product_id: UUID) -> Product:
        """One product, from the user's client."""
        return await self._client().get_product(product_id)

    async def lookup_products(self, product_ids: Sequence[UUID]) -> ProductLookup:
        """Many products, from the user's client."""
        return await self._client().lookup_products(product_ids)

    async def check_stock(self, product_id: UUID, quantity: int) -> StockCheck:
        """A stock check, by the user's client."""
        return await self._client().check_stock(product_id, quantity)

    async def reserve(
        self, reservation_key: str, lines: Sequence[ReservationLineRequest]
    ) -> Reservation:
        """A hold, through the user's client."""
        return await self._client().reserve(reservation_key, lines)

    async def confirm(self, reservation_id: UUID) -> Reservation:
        """A confirmation, through the user's client."""
        return await self._client().confirm(reservation_id)

    async def release(self, reservation_id: UUID) -> Reservation:
        """A release, through the user's client."""
        return await self._client().release(reservation_id)

    async def release_by_key(self, reservation_key: str) -> Reservation:
        """A release by key, through the user's client."""
        return await self._client().release_by_key(reservation_key)

    async def get_reservation(self, reservation_id: UUID) -> Reservation:
        """A reservation, read through the user's client."""
        return await self._client().get_reservation(reservation_id)
