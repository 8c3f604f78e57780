"""Read-side handlers: products, stock checks and reservations (ADR 0026)."""

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from products.application.unit_of_work import UnitOfWorkFactory
from products.domain.errors import ProductNotFound, ReservationNotFound
from products.domain.product import Product
from products.domain.reservation import Reservation


@dataclass(frozen=True, slots=True)
class ProductPage:
    """One page of a product search and the total number of matches."""

    items: list[Product]
    total: int


@dataclass(frozen=True, slots=True)
class Lookup:
    """Found products in request order and the ids that do not exist."""

    found: list[Product]
    missing: list[UUID]


async def get_product(product_id: UUID, uow: UnitOfWorkFactory) -> Product:
    """One product, or ``ProductNotFound``."""
    async with uow() as work:
        product = await work.products.get(product_id)
    if product is None:
        raise ProductNotFound([product_id])
    return product


async def search_products(
    query: str | None, page: int, page_size: int, uow: UnitOfWorkFactory
) -> ProductPage:
    """Products whose name or SKU contains ``query`` (case-insensitive), ordered by SKU."""
    async with uow() as work:
        items, total = await work.products.search(query or None, (page - 1) * page_size, page_size)
    return ProductPage(items, total)


async def lookup_products(product_ids: Sequence[UUID], uow: UnitOfWorkFactory) -> Lookup:
    """Many products in one read; duplicates collapsed, request order kept."""
    ordered = list(dict.fromkeys(product_ids))
    async with uow() as work:
        found = await work.products.get_many(ordered)
    return Lookup(
        found=[found[pid] for pid in ordered if pid in found],
        missing=[pid for pid in ordered if pid not in found],
    )


async def get_reservation(reservation_id: UUID, uow: UnitOfWorkFactory) -> Reservation:
    """One reservation, or ``ReservationNotFound``."""
    async with uow() as work:
        reservation = await work.reservations.get(reservation_id)
    if reservation is None:
        raise ReservationNotFound(reservation_id)
    return reservation
