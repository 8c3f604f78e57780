"""A service's flags for the flag store's own tests: a shop cutting over its inventory boundary."""

from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import MetaData

from cutover.flags import ModeUnavailable, ServiceFlags, flag_tables
from seam import FlagNames, Mode
from shop_contracts.errors import ErrorCode

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


class InventoryMode(StrEnum):
    """The shop's name for the seam's modes."""

    LOCAL = Mode.LOCAL.value
    HTTP = Mode.HTTP.value
    SHADOW = Mode.SHADOW.value
    CANARY = Mode.CANARY.value


class ShopFlags(BaseModel):
    """The shop's run-time flags."""

    model_config = ConfigDict(frozen=True)

    restock_alerts: bool = Field(default=True, description="Mail the buyer when stock runs low")
    batch_size: int = Field(default=10, ge=1, le=100, description="Items per restock batch")
    inventory_client: InventoryMode = Field(
        default=InventoryMode.SHADOW, description="Which inventory client serves requests"
    )
    inventory_share: int = Field(default=0, ge=0, le=100, description="Canary: percent on http")
    inventory_rate: float = Field(default=1.0, ge=0, le=1, description="Shadow: reads mirrored")


class InventoryClientUnavailable(ModeUnavailable):
    """The inventory_client flag names a mode whose clients this process did not build."""

    code = ErrorCode.SERVICE_UNAVAILABLE
    title = "Inventory client not available"


SHOP_FLAGS = ServiceFlags(
    ShopFlags,
    seam=FlagNames(mode="inventory_client", share="inventory_share", rate="inventory_rate"),
    settings=FlagNames(mode="SHOP_INVENTORY", share="SHOP_SHARE", rate="SHOP_RATE"),
    features="SHOP_FEATURE_*",
    refresh="SHOP_FLAGS_REFRESH",
    service="shop",
    boundary="inventory",
    unavailable=InventoryClientUnavailable,
)
DEFAULTS = ShopFlags()
TABLES = flag_tables(MetaData())
