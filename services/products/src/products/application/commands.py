"""Write-side requests: what a caller asks the products service to change."""

from dataclasses import dataclass
from uuid import UUID

from products.domain.product import ProductChanges
from products.domain.reservation import Line
from shop_contracts.money import Money


@dataclass(frozen=True, slots=True)
class CreateProduct:
    """Add a product to the catalogue with an initial available stock."""

    sku: str
    name: str
    description: str
    price: Money
    stock: int


@dataclass(frozen=True, slots=True)
class UpdateProduct:
    """Change catalogue fields of a product."""

    product_id: UUID
    changes: ProductChanges


@dataclass(frozen=True, slots=True)
class AdjustStock:
    """Correct the available stock by ``delta`` units (never below zero)."""

    product_id: UUID
    delta: int
    reason: str


@dataclass(frozen=True, slots=True)
class ImportProducts:
    """Create many products at once, all or none."""

    products: tuple[CreateProduct, ...]


@dataclass(frozen=True, slots=True)
class ReserveStock:
    """Hold stock for every line or none; the key makes the request idempotent."""

    key: str
    lines: tuple[Line, ...]


@dataclass(frozen=True, slots=True)
class ConfirmReservation:
    """Make a hold permanent."""

    reservation_id: UUID


@dataclass(frozen=True, slots=True)
class ReleaseReservation:
    """Give a hold's stock back."""

    reservation_id: UUID


@dataclass(frozen=True, slots=True)
class ReleaseReservationKey:
    """Give back whatever is held under a key, and refuse any later hold under it."""

    key: str


@dataclass(frozen=True, slots=True)
class ReleaseCancelledOrder:
    """An order was cancelled: give its hold's stock back, once per event."""

    event_id: UUID
    consumer: str
    reservation_id: UUID
