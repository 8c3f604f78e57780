"""The products use cases behind one object, speaking wire DTOs.

Both the HTTP routers and the in-process facade call this, so the two ways
into the service cannot drift apart.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from products.application import commands
from products.application.clock import Clock, utc_now
from products.application.handlers import catalogue, queries, reservations
from products.application.unit_of_work import UnitOfWorkFactory
from products.application.views import product_view, reservation_view
from products.domain.product import ProductChanges
from products.domain.reservation import LineRequest
from shop_contracts.pagination import Page
from shop_contracts.products import (
    BulkImport,
    BulkImportResult,
    ProductCreate,
    ProductLookup,
    ProductUpdate,
    StockAdjustment,
    StockCheck,
)
from shop_contracts.products import Product as ProductDTO
from shop_contracts.reservations import Reservation as ReservationDTO
from shop_contracts.reservations import ReservationLineRequest

SWEEP_BATCH_SIZE = 200


def _create_command(item: ProductCreate) -> commands.CreateProduct:
    return commands.CreateProduct(
        sku=item.sku,
        name=item.name,
        description=item.description,
        price=item.price,
        currency=item.currency,
        stock=item.stock,
    )


@dataclass(frozen=True, slots=True)
class ReserveResult:
    """A reservation and whether this request created it (201) or replayed it (200)."""

    reservation: ReservationDTO
    created: bool


class ProductsService:
    """Every products use case; collaborators are passed in by the composition root."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        *,
        reservation_ttl: timedelta,
        max_bulk_import_size: int,
        clock: Clock = utc_now,
        read_uow_factory: UnitOfWorkFactory | None = None,
    ) -> None:
        self._uow = uow_factory
        # Single-statement reads (one product, a lookup, a stock check) need no
        # transaction; the composition root may give them an autocommit one.
        self._read_uow = read_uow_factory or uow_factory
        self._ttl = reservation_ttl
        self._max_bulk = max_bulk_import_size
        self._clock = clock

    async def get_product(self, product_id: UUID) -> ProductDTO:
        """One product; ``ProductNotFound``."""
        return product_view(await queries.get_product(product_id, self._read_uow()))

    async def list_products(self, query: str | None, page: int, page_size: int) -> Page[ProductDTO]:
        """A page of products matching ``query``."""
        found = await queries.search_products(query, page, page_size, self._uow())
        return Page[ProductDTO](
            items=[product_view(p) for p in found.items],
            total=found.total,
            page=page,
            page_size=page_size,
        )

    async def lookup_products(self, product_ids: Sequence[UUID]) -> ProductLookup:
        """Many products at once; unknown ids in ``missing``."""
        result = await queries.lookup_products(product_ids, self._read_uow())
        return ProductLookup(items=[product_view(p) for p in result.found], missing=result.missing)

    async def check_stock(self, product_id: UUID, quantity: int) -> StockCheck:
        """Whether ``quantity`` units are available now; ``ProductNotFound``."""
        product = await queries.get_product(product_id, self._read_uow())
        return StockCheck(
            product_id=product.id,
            requested=quantity,
            stock_available=product.stock_available,
            available=product.stock_available >= quantity,
        )

    async def create_product(self, request: ProductCreate) -> ProductDTO:
        """Add a product; ``SkuAlreadyExists``."""
        product = await catalogue.create_product(_create_command(request), self._uow(), self._clock)
        return product_view(product)

    async def update_product(self, product_id: UUID, request: ProductUpdate) -> ProductDTO:
        """Change catalogue fields; ``ProductNotFound``."""
        changes = ProductChanges(
            name=request.name,
            description=request.description,
            price=request.price,
            currency=request.currency,
        )
        command = commands.UpdateProduct(product_id, changes)
        return product_view(await catalogue.update_product(command, self._uow(), self._clock))

    async def adjust_stock(self, product_id: UUID, request: StockAdjustment) -> ProductDTO:
        """Correct available stock; ``InsufficientStock`` if it would go negative."""
        command = commands.AdjustStock(product_id, request.delta, request.reason)
        return product_view(await catalogue.adjust_stock(command, self._uow(), self._clock))

    async def import_products(self, request: BulkImport) -> BulkImportResult:
        """Create many products, all or none; ``BulkImportTooLarge``, ``SkuAlreadyExists``."""
        command = commands.ImportProducts(tuple(_create_command(p) for p in request.products))
        created = await catalogue.import_products(command, self._uow(), self._clock, self._max_bulk)
        return BulkImportResult(created=[product_view(p) for p in created])

    async def reserve(
        self, reservation_key: str, lines: Sequence[ReservationLineRequest]
    ) -> ReserveResult:
        """Hold stock for all lines or none; same key and lines replay the first hold."""
        command = commands.ReserveStock(
            reservation_key, tuple(LineRequest(line.product_id, line.quantity) for line in lines)
        )
        outcome = await reservations.reserve_stock(command, self._uow(), self._clock, self._ttl)
        return ReserveResult(reservation_view(outcome.reservation), outcome.created)

    async def confirm(self, reservation_id: UUID) -> ReservationDTO:
        """Confirm a hold (idempotent); ``ReservationExpired`` once it lapsed."""
        command = commands.ConfirmReservation(reservation_id)
        return reservation_view(
            await reservations.confirm_reservation(command, self._uow(), self._clock)
        )

    async def release(self, reservation_id: UUID) -> ReservationDTO:
        """Release a hold and return its stock (idempotent)."""
        command = commands.ReleaseReservation(reservation_id)
        return reservation_view(
            await reservations.release_reservation(command, self._uow(), self._clock)
        )

    async def get_reservation(self, reservation_id: UUID) -> ReservationDTO:
        """A reservation's current state; ``ReservationNotFound``."""
        return reservation_view(await queries.get_reservation(reservation_id, self._uow()))

    async def expire_lapsed(self) -> int:
        """Expire lapsed holds and return their stock; how many were expired."""
        return await reservations.expire_lapsed(self._uow, self._clock, SWEEP_BATCH_SIZE)
