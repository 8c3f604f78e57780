"""``products migrate | seed | serve``: operate the service from the command line."""

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from products.adapters.db.migrate import upgrade_products_database
from products.application.demo_catalogue import demo_products
from products.config import OfflineSettings, Settings
from products.domain.errors import SkuAlreadyExists
from products.facade import ProductsFacade
from servicekit.logging import configure_logging
from servicekit.serve import add_serve_arguments, serve, serve_options
from servicekit.settings import settings_problem

logger = logging.getLogger("products.cli")


async def _seed(settings: Settings) -> int:
    products = ProductsFacade.from_database_url(settings.database_url.get_secret_value())
    created = 0
    try:
        for item in demo_products():
            try:
                await products.create_product(item)
            except SkuAlreadyExists:
                continue  # seeded before: leave the existing product (and its stock) alone
            created += 1
    finally:
        await products.aclose()
    return created


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="products", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="apply database migrations (APP_DATABASE_URL)")
    commands.add_parser("seed", help="load the demo catalogue (idempotent)")
    add_serve_arguments(commands, default_port=8001)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``products`` command."""
    args = _parser().parse_args(argv)
    # Migrations authenticate no one: they run without the JWT secret and service token.
    try:
        settings = (OfflineSettings if args.command == "migrate" else Settings)()
    except ValidationError as error:
        print(settings_problem(f"products {args.command}", error), file=sys.stderr)
        return 2
    configure_logging("products", settings.log_level, settings.log_json)
    if args.command == "migrate":
        asyncio.run(upgrade_products_database(settings.database_url.get_secret_value()))
        logger.info("products database migrated")
    elif args.command == "seed":
        created = asyncio.run(_seed(settings))
        logger.info("demo catalogue seeded", extra={"products_created": created})
    else:
        serve("products", settings, serve_options(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
