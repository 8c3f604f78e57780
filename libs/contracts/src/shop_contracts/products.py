"""Product catalogue DTOs."""

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shop_contracts.limits import (
    MAX_DESCRIPTION_LENGTH,
    MAX_LINE_QUANTITY,
    MAX_LOOKUP_IDS,
    MAX_NAME_LENGTH,
    MAX_REASON_LENGTH,
    MAX_SKU_LENGTH,
    MAX_STOCK,
    MAX_STORED_STOCK,
)
from shop_contracts.money import CurrencyCode, IsoCurrencyCode, MoneyAmount, PriceAmount
from shop_contracts.numbers import WireInt
from shop_contracts.text import NO_NUL


class Product(BaseModel):
    """A catalogue entry as consumers see it."""

    model_config = ConfigDict(frozen=True)

    id: UUID
    sku: str
    name: str
    description: str
    price: MoneyAmount
    currency: CurrencyCode
    stock_available: int = Field(ge=0, le=MAX_STORED_STOCK)
    created_at: datetime
    updated_at: datetime


class ProductCreate(BaseModel):
    """Admin request to add a product."""

    model_config = ConfigDict(extra="forbid")

    sku: str = Field(
        min_length=1, max_length=MAX_SKU_LENGTH, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
    )
    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH, pattern=NO_NUL)
    description: str = Field(default="", max_length=MAX_DESCRIPTION_LENGTH, pattern=NO_NUL)
    price: PriceAmount
    currency: IsoCurrencyCode = "EUR"
    stock: WireInt = Field(default=0, ge=0, le=MAX_STOCK)


class ProductUpdate(BaseModel):
    """Admin partial update; stock changes go through stock adjustments."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=MAX_NAME_LENGTH, pattern=NO_NUL)
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION_LENGTH, pattern=NO_NUL)
    price: PriceAmount | None = None
    currency: IsoCurrencyCode | None = None


class StockAdjustment(BaseModel):
    """Admin stock correction: positive adds units, negative removes available units."""

    model_config = ConfigDict(extra="forbid")

    delta: WireInt = Field(
        ge=-MAX_STOCK,
        le=MAX_STOCK,
        description=f"Units to add (or remove); stock on hand stays within 0..{MAX_STOCK}",
    )
    reason: str = Field(default="", max_length=MAX_REASON_LENGTH, pattern=NO_NUL)


class BulkImport(BaseModel):
    """Admin bulk creation; the size cap comes from FEATURE_MAX_BULK_IMPORT_SIZE."""

    model_config = ConfigDict(extra="forbid")

    products: list[ProductCreate] = Field(min_length=1)


class BulkImportResult(BaseModel):
    """Products created by a bulk import, in request order."""

    created: list[Product]


class ProductLookupRequest(BaseModel):
    """Fetch many products in one call (no N+1 over HTTP)."""

    model_config = ConfigDict(extra="forbid")

    ids: list[UUID] = Field(min_length=1, max_length=MAX_LOOKUP_IDS)


class ProductLookup(BaseModel):
    """Found products (in request order, duplicates collapsed) and the ids that do not exist."""

    items: list[Product]
    missing: list[UUID]


class StockCheck(BaseModel):
    """Whether ``requested`` units are available right now (nothing is held)."""

    product_id: UUID
    requested: int = Field(ge=1, le=MAX_LINE_QUANTITY)
    stock_available: int = Field(ge=0, le=MAX_STORED_STOCK)
    available: bool
