"""The public in-process API of products: the only module other services may import.

``LocalProductClient`` in orders runs products through this in its own process.
It calls the same use cases as the HTTP API and raises the same
``shop_contracts.errors`` exceptions, so either way of reaching products
behaves identically.
"""

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from products.adapters.schema import upgrade_database as _upgrade_database
from products.runtime import ProductsRuntime
from shop_contracts.products import Product, ProductLookup, StockCheck
from shop_contracts.reservations import Reservation, ReservationLineRequest

__all__ = ["ProductsFacade", "upgrade_database"]


async def upgrade_database(database_url: str) -> None:
    """Apply products' migrations to ``database_url`` (up to head)."""
    await _upgrade_database(database_url)


class ProductsFacade:
    """Products' catalogue and reservations, in-process."""

    def __init__(self, runtime: ProductsRuntime) -> None:
        self._runtime = runtime
        self._service = runtime.service

    @classmethod
    def from_database_url(
        cls,
        database_url: str,
        *,
        reservation_ttl_seconds: float = 900.0,
        sweep_interval_seconds: float = 5.0,
        pool_size: int = 10,
    ) -> "ProductsFacade":
        """A facade over the products database at ``database_url`` (no I/O until used)."""
        return cls(
            ProductsRuntime(
                database_url,
                reservation_ttl_seconds=reservation_ttl_seconds,
                sweep_interval_seconds=sweep_interval_seconds,
                pool_size=pool_size,
            )
        )

    async def start(self, *, run_sweeper: bool = True) -> None:
        """Start the reservation sweeper in this process if asked."""
        await self._runtime.start(run_sweeper=run_sweeper)

    async def aclose(self) -> None:
        """Stop the sweeper and dispose of the engine."""
        await self._runtime.aclose()

    async def ping(self) -> dict[str, Any]:
        """Readiness details; raises when the database is unreachable."""
        return await self._runtime.ping()

    async def get_product(self, product_id: UUID) -> Product:
        """One product; ``ProductNotFound``."""
        return await self._service.get_product(product_id)

    async def lookup_products(self, product_ids: Sequence[UUID]) -> ProductLookup:
        """Products in request order (duplicates collapsed); unknown ids in ``missing``."""
        return await self._service.lookup_products(product_ids)

    async def check_stock(self, product_id: UUID, quantity: int) -> StockCheck:
        """Whether ``quantity`` units are available now; ``ProductNotFound``."""
        return await self._service.check_stock(product_id, quantity)

    async def reserve(
        self, reservation_key: str, lines: Sequence[ReservationLineRequest]
    ) -> Reservation:
        """Hold stock for all lines or none; the same key and lines return the same hold."""
        return (await self._service.reserve(reservation_key, lines)).reservation

    async def confirm(self, reservation_id: UUID) -> Reservation:
        """Confirm a hold (idempotent); ``ReservationExpired`` / ``ReservationReleased``."""
        return await self._service.confirm(reservation_id)

    async def release(self, reservation_id: UUID) -> Reservation:
        """Release a hold and return its stock (idempotent)."""
        return await self._service.release(reservation_id)

    async def get_reservation(self, reservation_id: UUID) -> Reservation:
        """A reservation's current state; ``ReservationNotFound``."""
        return await self._service.get_reservation(reservation_id)
