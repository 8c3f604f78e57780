"""The product clients this mode builds, the seam over them and their readiness (ADRs 0025, 0027)."""

from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

from cutover.flags import SqlFlagStore, mode_report
from orders.adapters.product_clients.boundary import FLAGS
from orders.adapters.product_clients.factory import (
    ProductsSeam,
    build_product_clients,
    build_seam,
    products_readiness,
)
from orders.bootstrap.overrides import Overrides
from orders.config import FeatureFlags, Settings
from orders.domain.product_client import ProductServiceClient
from servicekit.events.handlers import Subscription
from servicekit.health import ReadinessCheck


@dataclass(frozen=True, slots=True)
class Products:
    """What the product-client wiring hands the rest of the process."""

    # What the facade and the background work call (the seam's authoritative client).
    client: ProductServiceClient
    # The "products" readiness check, with the mode in force.
    readiness: ReadinessCheck
    # None with one injected client: nothing to route, no flags to follow.
    router: ProductsSeam | None
    # Products' consumers, whenever products runs in this process (a local client built).
    subscriptions: tuple[Subscription, ...]


async def _injected_products_ready() -> dict[str, str]:
    return {"mode": "injected"}


async def wire_products(
    settings: Settings,
    stack: AsyncExitStack,
    flag_store: SqlFlagStore[FeatureFlags],
    overrides: Overrides,
) -> Products:
    """The clients ``APP_PRODUCTS_CLIENT`` calls for (or the injected ones), routed; closed via ``stack``.

    The one seam between the product-client package and the rest of the
    process: everything else takes the ``Products`` it returns.
    """
    router: ProductsSeam | None = None
    subscriptions_of_products: tuple[Subscription, ...] = ()
    if overrides.product_client is not None:
        # One fixed client: every request and background task uses it.
        products = overrides.product_client
        readiness = overrides.products_readiness or _injected_products_ready
    else:
        clients = overrides.product_clients
        if clients is None:
            clients = await build_product_clients(settings, stack)
        router = build_seam(clients, settings, flag_store, stack, overrides.clock)
        products = router.authoritative
        readiness = products_readiness(router, clients, flag_store)
        subscriptions_of_products = clients.subscriptions
        router.publish(flag_store.current())
    return Products(products, _with_mode(readiness, flag_store), router, subscriptions_of_products)


def _with_mode(check: ReadinessCheck, store: SqlFlagStore[FeatureFlags]) -> ReadinessCheck:
    """The products check, with the mode in force, the start-up mode and who set it."""

    async def report() -> dict[str, Any]:
        details = await check()
        if details.get("mode") == "injected":
            return details  # a test's fixed client: no mode to report
        return {**details, **mode_report(store, FLAGS)}

    return report
