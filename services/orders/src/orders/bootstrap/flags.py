"""Orders' run-time flags over cut-over's flag store: the names operators read, the store a process reads."""

from sqlalchemy.ext.asyncio import AsyncEngine

from cutover.flags import ServiceFlags, SqlFlagStore
from orders.adapters.db.tables import feature_flag_tables
from orders.adapters.product_clients.boundary import FLAGS, ProductsClientUnavailable
from orders.bootstrap.overrides import Overrides
from orders.config import FeatureFlags, Settings, choosable_modes, default_flags
from seam import FlagNames

ORDERS_FLAGS = ServiceFlags(
    FeatureFlags,
    seam=FLAGS,
    settings=FlagNames(
        mode="APP_PRODUCTS_CLIENT", share="APP_CANARY_SHARE", rate="APP_SHADOW_SAMPLE_RATE"
    ),
    features="FEATURE_*",
    refresh="APP_FLAGS_REFRESH_SECONDS",
    service="orders",
    boundary="products",
    unavailable=ProductsClientUnavailable,
)
"""``FeatureFlags``, the seam's flags on it and the settings their defaults come from."""


async def open_flag_store(
    settings: Settings, engine: AsyncEngine, overrides: Overrides
) -> SqlFlagStore[FeatureFlags]:
    """The operator's flags over the environment's defaults, read once before anything serves."""
    store = SqlFlagStore(
        engine,
        feature_flag_tables,
        ORDERS_FLAGS,
        default_flags(settings, overrides.flags),
        choosable=choosable_modes(settings.products_client),
        clock=overrides.clock,
    )
    await store.refresh()  # before serving: no request sees only the defaults
    return store
