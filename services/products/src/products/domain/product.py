"""A catalogue entry and the available stock it carries (ADR 0026)."""

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from shop_contracts.money import Money


@dataclass(frozen=True, slots=True)
class ProductChanges:
    """Catalogue fields an admin may change; ``None`` leaves a field as it is."""

    name: str | None = None
    description: str | None = None
    price: Decimal | None = None
    currency: str | None = None


@dataclass(frozen=True, slots=True)
class Product:
    """A product; ``stock_available`` is the stock nobody holds."""

    id: UUID
    sku: str
    name: str
    description: str
    price: Money
    stock_available: int
    created_at: datetime
    updated_at: datetime

    def changed(self, changes: ProductChanges, now: datetime) -> "Product":
        """A copy with the given catalogue changes applied."""
        return replace(
            self,
            name=self.name if changes.name is None else changes.name,
            description=self.description if changes.description is None else changes.description,
            price=Money(
                self.price.amount if changes.price is None else changes.price,
                self.price.currency if changes.currency is None else changes.currency,
            ),
            updated_at=now,
        )
