"""The background loops a process runs: flags refresh and order reconciler, started once (ADR 0027)."""

from collections.abc import Iterable
from contextlib import AsyncExitStack

from cutover.flags import SqlFlagStore
from orders.adapters.metrics import record_reconcile
from orders.adapters.product_clients.factory import ProductsSeam
from orders.config import FeatureFlags, Settings
from orders.facade import OrdersFacade
from servicekit.periodic import PeriodicTask


def flags_refresh(
    settings: Settings, store: SqlFlagStore[FeatureFlags], router: ProductsSeam | None
) -> PeriodicTask:
    """Re-read the operator's flags every ``APP_FLAGS_REFRESH_SECONDS``; the router's gauges follow."""

    async def refresh_flags() -> None:
        await store.refresh()
        if router is not None:
            # Every tick, requests or not: an idle worker's gauges follow the store.
            router.publish(store.current())

    return PeriodicTask("flags-refresh", settings.flags_refresh_seconds, refresh_flags)


def reconciler(settings: Settings, orders: OrdersFacade) -> PeriodicTask:
    """Retry or fail orders left pending every ``APP_RECONCILE_INTERVAL_SECONDS``."""

    async def reconcile() -> None:
        record_reconcile(await orders.reconcile())

    return PeriodicTask("order-reconciler", settings.reconcile_interval_seconds, reconcile)


def start(tasks: Iterable[PeriodicTask], stack: AsyncExitStack) -> None:
    """Start each task now; ``stack`` stops it."""
    for task in tasks:
        task.start()
        stack.push_async_callback(task.stop)
