"""Errors the products domain raises; those that cross the boundary come from ``shop_contracts``."""

from uuid import UUID

from shop_contracts.errors import (
    DomainError,
    ErrorCode,
    IdempotencyKeyReused,
    InsufficientStock,
    MixedCurrencies,
    OrderTotalTooLarge,
    ProductNotFound,
    ReservationExpired,
    ReservationNotFound,
    ReservationReleased,
)

__all__ = [
    "BulkImportTooLarge",
    "DomainError",
    "IdempotencyKeyReused",
    "InsufficientStock",
    "InvalidInput",
    "MixedCurrencies",
    "OrderTotalTooLarge",
    "ProductNotFound",
    "ReservationExpired",
    "ReservationNotFound",
    "ReservationReleased",
    "SkuAlreadyExists",
    "StockLimitExceeded",
]


class SkuAlreadyExists(DomainError):
    """Another product already uses this SKU."""

    code = ErrorCode.SKU_ALREADY_EXISTS
    status = 409
    title = "SKU already exists"

    def __init__(self, sku: str) -> None:
        self.sku = sku
        super().__init__(f"A product with SKU {sku!r} already exists")


class BulkImportTooLarge(DomainError):
    """A bulk import larger than the configured cap."""

    code = ErrorCode.BULK_IMPORT_TOO_LARGE
    status = 413
    title = "Bulk import too large"

    def __init__(self, size: int, limit: int) -> None:
        self.size = size
        self.limit = limit
        super().__init__(f"{size} products in one import; the limit is {limit}")


class InvalidInput(DomainError):
    """Input that passed validation but the database cannot store (e.g. a NUL character)."""

    code = ErrorCode.VALIDATION_ERROR
    status = 422
    title = "Request validation failed"


class StockLimitExceeded(DomainError):
    """A stock adjustment would put more units on hand than the stock limit."""

    code = ErrorCode.STOCK_LIMIT_EXCEEDED
    status = 409
    title = "Stock limit exceeded"

    def __init__(self, product_id: UUID, limit: int) -> None:
        self.product_id = product_id
        super().__init__(
            f"Product {product_id} would have more than {limit} units on hand (available plus held)"
        )
