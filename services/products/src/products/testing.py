"""Helpers for tests of products and of its consumers: a hand-moved clock, a product factory."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import uuid4

from products.facade import ProductsFacade
from shop_contracts.products import Product, ProductCreate


class FrozenClock:
    """A clock that only moves when told to, so expiry is tested without sleeping."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += timedelta(seconds=seconds)


class Catalogue:
    """Adds products with unique SKUs, so tests can share one database."""

    def __init__(self, products: ProductsFacade) -> None:
        self._products = products

    async def add(
        self,
        *,
        stock: int = 10,
        price: str = "9.99",
        name: str | None = None,
        currency: str = "EUR",
    ) -> Product:
        """Create a product with a fresh SKU."""
        sku = f"T-{uuid4().hex[:12]}"
        return await self._products.create_product(
            ProductCreate(
                sku=sku,
                name=name or f"Product {sku}",
                price=Decimal(price),
                currency=currency,
                stock=stock,
            )
        )

    async def stock(self, product: Product) -> int:
        """The product's available stock right now."""
        return (await self._products.get_product(product.id)).stock_available
