"""What of products an orders deployment owns: in local mode, its schema and consumers (ADR 0027)."""

from collections.abc import Callable
from contextlib import AsyncExitStack

from orders.adapters.db.migrate import upgrade_orders_database
from orders.config import ProductsClientMode, Settings
from products.facade import ProductsFacade, upgrade_products_database
from servicekit.events.handlers import Subscription


def owns_products(settings: Settings) -> bool:
    """Whether this deployment is products' only home: it migrates products' schema, runs its consumers.

    Only ``local`` (the monolith): in ``shadow`` and ``canary`` the products
    service is deployed too and owns its schema and queues, although orders
    also reads and writes its database.
    """
    return settings.products_client is ProductsClientMode.LOCAL


def _quiet(_database: str) -> None:
    return None


async def migrate_databases(
    settings: Settings, *, migrated: Callable[[str], None] = _quiet
) -> None:
    """Upgrade orders' schema and, when this deployment owns products, products' schema.

    ``migrated`` is told each database's name (``orders``, ``products``) as soon
    as that one is done.
    """
    await upgrade_orders_database(settings.database_url.get_secret_value())
    migrated("orders")
    if owns_products(settings):
        await upgrade_products_database(settings.products_database_url.get_secret_value())
        migrated("products")


async def products_consumers(settings: Settings, stack: AsyncExitStack) -> tuple[Subscription, ...]:
    """Products' event consumers, when this deployment owns products; its facade closes via ``stack``."""
    if not owns_products(settings):
        return ()
    facade = ProductsFacade.from_database_url(
        settings.products_database_url.get_secret_value(), pool_size=settings.db_pool_size
    )
    stack.push_async_callback(facade.aclose)
    return facade.subscriptions()
