"""The read side's port: catalogue, stock and reservation reads as wire views (ADR 0026)."""

from collections.abc import Sequence
from typing import Protocol
from uuid import UUID

from shop_contracts.pagination import Page
from shop_contracts.products import Product, ProductLookup, StockCheck
from shop_contracts.reservations import Reservation


class ProductQueries(Protocol):
    """Query handlers; they return contract views straight from rows, never domain objects."""

    async def get_product(self, product_id: UUID) -> Product | None:
        """One product, or None."""
        ...

    async def search_products(self, query: str | None, page: int, page_size: int) -> Page[Product]:
        """A page of products whose name or SKU contains ``query`` (case-insensitive), by SKU."""
        ...

    async def lookup_products(self, product_ids: Sequence[UUID]) -> ProductLookup:
        """Products in request order (duplicates collapsed); unknown ids in ``missing``."""
        ...

    async def check_stock(self, product_id: UUID, quantity: int) -> StockCheck | None:
        """Whether ``quantity`` units are available now, or None for an unknown product."""
        ...

    async def get_reservation(self, reservation_id: UUID) -> Reservation | None:
        """A reservation with its lines, or None."""
        ...
