"""Run-time flags, for operators: cut-over's admin API over orders' store and canary fallback."""

from fastapi import Request

from cutover.flags import AdminFlagStore
from cutover.flags.api import flags_router
from orders.adapters.product_clients.factory import ProductsSeam
from orders.bootstrap.flags import ORDERS_FLAGS
from orders.config import FeatureFlags
from seam import FallbackState


async def _store(request: Request) -> AdminFlagStore[FeatureFlags]:
    store: AdminFlagStore[FeatureFlags] = request.app.state.flags
    return store


def _fallback(request: Request) -> FallbackState | None:
    """The canary fallback in force in this process (both clients built), if any."""
    router: ProductsSeam | None = request.app.state.product_router
    fallback = router.fallback if router is not None else None
    return fallback.state() if fallback is not None else None


router = flags_router(ORDERS_FLAGS, store=_store, fallback=_fallback)
