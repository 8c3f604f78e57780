"""``orders migrate`` and ``orders serve``."""

import argparse
import asyncio
import logging

import uvicorn

from orders.adapters.db.migrate import upgrade_orders_database
from orders.config import ProductsClientMode, Settings
from products.facade import upgrade_database
from servicekit.logging import configure_logging

logger = logging.getLogger("orders.cli")


async def _migrate(settings: Settings) -> None:
    await upgrade_orders_database(settings.database_url)
    logger.info("orders database migrated")
    # In local mode this process owns the products database too.
    if settings.products_client is ProductsClientMode.LOCAL:
        await upgrade_database(settings.products_database_url)
        logger.info("products database migrated")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``orders`` command."""
    parser = argparse.ArgumentParser(prog="orders", description="Orders service")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="apply database migrations (APP_* settings)")
    serve = commands.add_parser("serve", help="run the HTTP API with uvicorn")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)

    settings = Settings()
    configure_logging("orders", settings.log_level, as_json=settings.log_json)
    if args.command == "migrate":
        asyncio.run(_migrate(settings))
        return 0
    uvicorn.run(
        "orders.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        log_config=None,
        proxy_headers=True,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
