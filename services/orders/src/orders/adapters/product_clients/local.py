"""``ProductServiceClient`` running products' application in-process, through its facade."""

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from products.facade import ProductsFacade
from shop_contracts.errors import ProductsUnavailable
from shop_contracts.products import Product, ProductLookup, StockCheck
from shop_contracts.reservations import Reservation, ReservationLineRequest

T = TypeVar("T")

# Infrastructure failures of the products database look, to orders, exactly like an
# unreachable products service; everything else (domain errors, bugs) passes through.
_UNAVAILABLE = (OperationalError, InterfaceError, PoolTimeout, ConnectionError, TimeoutError)


class LocalProductClient:
    """The monolith-stage client: same exceptions as the HTTP one, no network."""

    def __init__(self, facade: ProductsFacade) -> None:
        self._facade = facade

    async def get_product(self, product_id: UUID) -> Product:
        return await self._call(self._facade.get_product, product_id)

    async def lookup_products(self, product_ids: Sequence[UUID]) -> ProductLookup:
        return await self._call(self._facade.lookup_products, product_ids)

    async def check_stock(self, product_id: UUID, quantity: int) -> StockCheck:
        return await self._call(self._facade.check_stock, product_id, quantity)

    async def reserve(
        self, reservation_key: str, lines: Sequence[ReservationLineRequest]
    ) -> Reservation:
        return await self._call(self._facade.reserve, reservation_key, lines)

    async def confirm(self, reservation_id: UUID) -> Reservation:
        return await self._call(self._facade.confirm, reservation_id)

    async def release(self, reservation_id: UUID) -> Reservation:
        return await self._call(self._facade.release, reservation_id)

    async def get_reservation(self, reservation_id: UUID) -> Reservation:
        return await self._call(self._facade.get_reservation, reservation_id)

    async def ping(self) -> dict[str, Any]:
        """Readiness details of the products database."""
        return await self._facade.ping()

    @staticmethod
    async def _call(method: Callable[..., Awaitable[T]], *args: Any) -> T:
        try:
            return await method(*args)
        except _UNAVAILABLE as exc:
            raise ProductsUnavailable(
                f"Products database unavailable: {type(exc).__name__}"
            ) from exc
