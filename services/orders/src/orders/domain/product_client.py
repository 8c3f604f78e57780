"""The port through which orders reaches products, whatever the deployment mode."""

from collections.abc import Sequence
from typing import Protocol
from uuid import UUID

from shop_contracts.products import Product, ProductLookup, StockCheck
from shop_contracts.reservations import Reservation, ReservationLineRequest


class ProductServiceClient(Protocol):
    """What orders may ask of products.

    Every implementation (local, http, shadow) returns the same values and
    raises the same exceptions from ``shop_contracts.errors`` for the same
    situation: ``ProductNotFound``, ``InsufficientStock``,
    ``ReservationNotFound``, ``ReservationExpired``, ``ReservationReleased``,
    ``IdempotencyKeyReused`` and ``ProductsUnavailable``.
    """

    async def get_product(self, product_id: UUID) -> Product:
        """One product; ``ProductNotFound`` if it does not exist."""
        ...

    async def lookup_products(self, product_ids: Sequence[UUID]) -> ProductLookup:
        """Many products in one round trip; unknown ids are listed in ``missing``."""
        ...

    async def check_stock(self, product_id: UUID, quantity: int) -> StockCheck:
        """Whether ``quantity`` units are available now; nothing is held."""
        ...

    async def reserve(
        self, reservation_key: str, lines: Sequence[ReservationLineRequest]
    ) -> Reservation:
        """Hold stock for every line or none; the same key and lines return the same hold."""
        ...

    async def confirm(self, reservation_id: UUID) -> Reservation:
        """Make a hold permanent (idempotent); ``ReservationExpired`` once it lapsed."""
        ...

    async def release(self, reservation_id: UUID) -> Reservation:
        """Return a hold's stock (idempotent; from held or confirmed)."""
        ...

    async def release_by_key(self, reservation_key: str) -> Reservation:
        """Return whatever is held under a key and retire the key (idempotent).

        For a reserve whose outcome is unknown: a reserve with that key arriving
        later holds nothing and answers the released reservation.
        """
        ...

    async def get_reservation(self, reservation_id: UUID) -> Reservation:
        """A reservation's current state; ``ReservationNotFound`` if unknown."""
        ...
