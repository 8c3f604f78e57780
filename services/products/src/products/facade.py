"""The in-process API of products, the only module other services import (ADR 0026)."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any
from uuid import UUID

from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncEngine

from products.adapters.db.migrate import upgrade_products_database
from products.adapters.db.queries import SqlAlchemyProductQueries
from products.adapters.db.unit_of_work import SqlAlchemyUnitOfWork
from products.application import commands
from products.application.adjust_stock import adjust_stock
from products.application.confirm_reservation import confirm_reservation
from products.application.create_product import create_product
from products.application.expire_lapsed import expire_lapsed
from products.application.import_products import import_products
from products.application.queries import ProductQueries
from products.application.release_cancelled_order import release_cancelled_order
from products.application.release_reservation import release_reservation
from products.application.release_reservation_key import release_reservation_key
from products.application.reserve_stock import reserve_stock
from products.application.unit_of_work import UnitOfWorkFactory
from products.application.update_product import update_product
from products.application.views import product_view, reservation_view
from products.domain.errors import ProductNotFound, ReservationNotFound
from products.domain.product import ProductChanges
from products.domain.reservation import Line
from products.entrypoints.events import subscriptions
from servicekit.clock import Clock, utc_now
from servicekit.db import autocommit_engine, create_engine, ping
from servicekit.events.handlers import Subscription
from servicekit.periodic import PeriodicTask
from shop_contracts.money import Money
from shop_contracts.pagination import Page
from shop_contracts.products import (
    BulkImport,
    BulkImportResult,
    Product,
    ProductCreate,
    ProductLookup,
    ProductUpdate,
    StockAdjustment,
    StockCheck,
)
from shop_contracts.reservations import Reservation, ReservationLineRequest

__all__ = ["ProductsFacade", "ReserveResult", "upgrade_products_database"]

SWEEP_BATCH_SIZE = 200

# Module-level because prometheus-client's registry is process-global.
RESERVATIONS_EXPIRED = Counter(
    "products_reservations_expired_total", "Lapsed reservations expired by the sweeper"
)


@dataclass(frozen=True, slots=True)
class ReserveResult:
    """A reservation and whether this request created it (201) or replayed it (200)."""

    reservation: Reservation
    created: bool


def _create_command(item: ProductCreate) -> commands.CreateProduct:
    return commands.CreateProduct(
        sku=item.sku,
        name=item.name,
        description=item.description,
        price=Money(item.price, item.currency),
        stock=item.stock,
    )


class ProductsFacade:
    """Products' catalogue and reservations, in-process; ``start`` / ``aclose`` bracket its life."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        reservation_ttl: timedelta,
        sweep_interval_seconds: float,
        max_bulk_import_size: int,
        clock: Clock = utc_now,
    ) -> None:
        self.engine = engine
        self._uow: UnitOfWorkFactory = partial(SqlAlchemyUnitOfWork, engine)
        # Single-statement reads (one product, a lookup, a stock check) need no
        # transaction, so they run on an autocommit connection.
        self._queries: ProductQueries = SqlAlchemyProductQueries(engine, autocommit_engine(engine))
        self._ttl = reservation_ttl
        self._max_bulk = max_bulk_import_size
        self._clock = clock
        self.sweeper = PeriodicTask("reservation-sweeper", sweep_interval_seconds, self._sweep)

    @classmethod
    def from_database_url(
        cls,
        database_url: str,
        *,
        reservation_ttl_seconds: float = 900.0,
        sweep_interval_seconds: float = 5.0,
        max_bulk_import_size: int = 100,
        pool_size: int = 20,
        max_overflow: int = 0,
        echo: bool = False,
        clock: Clock = utc_now,
    ) -> "ProductsFacade":
        """A facade over the products database at ``database_url`` (no I/O until used)."""
        return cls(
            create_engine(database_url, pool_size=pool_size, max_overflow=max_overflow, echo=echo),
            reservation_ttl=timedelta(seconds=reservation_ttl_seconds),
            sweep_interval_seconds=sweep_interval_seconds,
            max_bulk_import_size=max_bulk_import_size,
            clock=clock,
        )

    async def start(self, *, run_sweeper: bool = True) -> None:
        """Start the reservation sweeper in this process if asked."""
        if run_sweeper:
            self.sweeper.start()

    async def aclose(self) -> None:
        """Stop the sweeper, then close every database connection."""
        await self.sweeper.stop()
        await self.engine.dispose()

    async def ping(self) -> dict[str, Any]:
        """Readiness details; raises when the database is unreachable."""
        return await ping(self.engine)

    async def get_product(self, product_id: UUID) -> Product:
        """One product; ``ProductNotFound``."""
        product = await self._queries.get_product(product_id)
        if product is None:
            raise ProductNotFound([product_id])
        return product

    async def list_products(self, query: str | None, page: int, page_size: int) -> Page[Product]:
        """A page of products whose name or SKU contains ``query``."""
        return await self._queries.search_products(query, page, page_size)

    async def lookup_products(self, product_ids: Sequence[UUID]) -> ProductLookup:
        """Products in request order (duplicates collapsed); unknown ids in ``missing``."""
        return await self._queries.lookup_products(product_ids)

    async def check_stock(self, product_id: UUID, quantity: int) -> StockCheck:
        """Whether ``quantity`` units are available now; ``ProductNotFound``."""
        stock = await self._queries.check_stock(product_id, quantity)
        if stock is None:
            raise ProductNotFound([product_id])
        return stock

    async def create_product(self, request: ProductCreate) -> Product:
        """Add a product; ``SkuAlreadyExists``."""
        command = _create_command(request)
        return product_view(await create_product(command, self._uow, self._clock))

    async def update_product(self, product_id: UUID, request: ProductUpdate) -> Product:
        """Change catalogue fields; ``ProductNotFound``."""
        changes = ProductChanges(
            name=request.name,
            description=request.description,
            price=request.price,
            currency=request.currency,
        )
        command = commands.UpdateProduct(product_id, changes)
        return product_view(await update_product(command, self._uow, self._clock))

    async def adjust_stock(self, product_id: UUID, request: StockAdjustment) -> Product:
        """Correct available stock; ``InsufficientStock`` if it would go negative."""
        command = commands.AdjustStock(product_id, request.delta, request.reason)
        return product_view(await adjust_stock(command, self._uow, self._clock))

    async def import_products(self, request: BulkImport) -> BulkImportResult:
        """Create many products, all or none; ``BulkImportTooLarge``, ``SkuAlreadyExists``."""
        command = commands.ImportProducts(tuple(_create_command(p) for p in request.products))
        created = await import_products(command, self._uow, self._clock, self._max_bulk)
        return BulkImportResult(created=[product_view(p) for p in created])

    async def reserve(
        self, reservation_key: str, lines: Sequence[ReservationLineRequest]
    ) -> Reservation:
        """Hold stock for all lines or none; the same key and lines return the same hold."""
        return (await self.reserve_or_replay(reservation_key, lines)).reservation

    async def reserve_or_replay(
        self, reservation_key: str, lines: Sequence[ReservationLineRequest]
    ) -> ReserveResult:
        """``reserve``, also saying whether this call created the hold or replayed it."""
        command = commands.ReserveStock(
            reservation_key, tuple(Line(line.product_id, line.quantity) for line in lines)
        )
        outcome = await reserve_stock(command, self._uow, self._clock, self._ttl)
        return ReserveResult(reservation_view(outcome.reservation), outcome.created)

    async def confirm(self, reservation_id: UUID) -> Reservation:
        """Confirm a hold (idempotent); ``ReservationExpired`` / ``ReservationReleased``."""
        command = commands.ConfirmReservation(reservation_id)
        return reservation_view(await confirm_reservation(command, self._uow, self._clock))

    async def release(self, reservation_id: UUID) -> Reservation:
        """Release a hold and return its stock (idempotent)."""
        command = commands.ReleaseReservation(reservation_id)
        return reservation_view(await release_reservation(command, self._uow, self._clock))

    async def release_by_key(self, reservation_key: str) -> Reservation:
        """Release whatever is held under a key and retire the key (idempotent)."""
        command = commands.ReleaseReservationKey(reservation_key)
        return reservation_view(await release_reservation_key(command, self._uow, self._clock))

    async def release_cancelled_order(self, command: commands.ReleaseCancelledOrder) -> bool:
        """Release a cancelled order's hold once per event; ``False`` for a repeat."""
        return await release_cancelled_order(command, self._uow, self._clock)

    def subscriptions(self) -> tuple[Subscription, ...]:
        """Products' integration event consumers (in-process, or behind a queue)."""
        return subscriptions(self)

    async def get_reservation(self, reservation_id: UUID) -> Reservation:
        """A reservation's current state; ``ReservationNotFound``."""
        reservation = await self._queries.get_reservation(reservation_id)
        if reservation is None:
            raise ReservationNotFound(reservation_id)
        return reservation

    async def expire_lapsed(self) -> int:
        """Expire lapsed holds and return their stock; how many this call expired."""
        return await expire_lapsed(self._uow, self._clock, SWEEP_BATCH_SIZE)

    async def _sweep(self) -> None:
        expired = await self.expire_lapsed()
        if expired:
            RESERVATIONS_EXPIRED.inc(expired)
