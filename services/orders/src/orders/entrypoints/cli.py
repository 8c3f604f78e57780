"""``orders migrate``, ``serve``, ``worker``, ``doctor``, ``flags`` and ``cutover report``."""

import argparse
import asyncio
import logging
import sys
from contextlib import AsyncExitStack

from pydantic import ValidationError

from cutover.flags import SqlFlagStore
from cutover.flags.cli import FlagsCommand, add_flags_arguments, run_flags
from cutover.report import cli as cutover_report
from cutover.report.names import Subject
from orders.adapters.db.doctor import examine
from orders.adapters.product_clients.boundary import FLAGS
from orders.adapters.product_clients.metrics import REPORT_NAMES
from orders.bootstrap import bootstrap, migrate_databases, open_engine
from orders.bootstrap.flags import ORDERS_FLAGS
from orders.config import FeatureFlags, OfflineSettings, ProductsClientMode, Settings
from orders.entrypoints.worker import serve_worker
from seam import Mode
from servicekit.events.settings import EventBusMode
from servicekit.logging import configure_logging
from servicekit.serve import add_serve_arguments, serve, serve_options
from servicekit.settings import settings_problem
from servicekit.worker_health import WorkerHealth, start_worker_http
from shop_contracts import paths

logger = logging.getLogger("orders.cli")


def _migrated(database: str) -> None:
    logger.info("%s database migrated", database)


async def _doctor(settings: Settings) -> int:
    async with AsyncExitStack() as stack:
        engine = open_engine(settings, stack)
        async with engine.connect() as connection:
            findings = await examine(connection)
    for finding in findings:
        print(finding)
    print(f"{len(findings)} finding(s)")
    return 1 if findings else 0


def _flags_command(settings: Settings) -> FlagsCommand[FeatureFlags]:
    """``orders flags``: the store of a process started in a given products-client mode."""

    async def open_store(stack: AsyncExitStack, startup: Mode) -> SqlFlagStore[FeatureFlags]:
        started = settings.model_copy(update={"products_client": ProductsClientMode(startup)})
        return (await bootstrap(started, stack, pool_size=1)).flags

    return FlagsCommand(
        ORDERS_FLAGS,
        Mode(settings.products_client),
        settings.database_url.get_secret_value(),
        open_store,
    )


_OFFLINE_COMMANDS = frozenset({"migrate", "worker"})
"""Commands that authenticate no one: production asks them for no auth secrets."""

CUTOVER = Subject(
    service="orders",
    names=REPORT_NAMES,
    flags_path=f"{paths.API_PREFIX}/admin/flags",
    mode_flag=FLAGS.mode,
    example_url="http://orders:8000",
    errors_help=(
        "outcome products_unavailable or error / all calls (domain",
        "answers such as insufficient_stock are not errors, nor is",
        "queue_full: orders' own bulkhead refusing a call)",
    ),
)
"""What ``orders cutover report`` reads and how it speaks of orders (docs/cutover.md)."""


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``orders`` command."""
    parser = argparse.ArgumentParser(prog="orders", description="Orders service")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="apply database migrations (APP_* settings)")
    commands.add_parser(
        "doctor",
        help="list stored orders a read cannot serve or today's limits would refuse "
        "(read-only; exit status 1 if any)",
    )
    add_serve_arguments(commands, default_port=8000)
    add_flags_arguments(commands, ORDERS_FLAGS, example_url="http://127.0.0.1:8000")
    worker = commands.add_parser(
        "worker", help="consume integration events from RabbitMQ (APP_EVENT_BUS=rabbitmq)"
    )
    worker.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        help="serve Prometheus /metrics and the readiness probe /health/ready on this port",
    )
    cutover = commands.add_parser("cutover", help="cut-over evidence of a running service")
    cutover_commands = cutover.add_subparsers(dest="cutover_command", required=True)
    cutover_report.add_report_command(cutover_commands, CUTOVER)
    args = parser.parse_args(argv)

    if args.command == "cutover":
        # Runs wherever an operator is: it needs the service's URL, not its settings.
        return cutover_report.run(args, CUTOVER)
    # The secrets a process is given are the ones it uses (deploy/k8s/README.md).
    try:
        settings = (OfflineSettings if args.command in _OFFLINE_COMMANDS else Settings)()
    except ValidationError as error:
        print(settings_problem(f"orders {args.command}", error), file=sys.stderr)
        return 2
    configure_logging("orders", settings.log_level, as_json=settings.log_json)
    if args.command == "migrate":
        # In local mode this deployment owns the products database too.
        asyncio.run(migrate_databases(settings, migrated=_migrated))
        return 0
    if args.command == "worker":
        if settings.event_bus is not EventBusMode.RABBITMQ:
            parser.error("the worker consumes from RabbitMQ: set APP_EVENT_BUS=rabbitmq")
        health = None
        if args.metrics_port is not None:
            health = WorkerHealth()
            start_worker_http(args.metrics_port, health)
        asyncio.run(serve_worker(settings, health))
        return 0
    if args.command == "doctor":
        return asyncio.run(_doctor(settings))
    if args.command == "flags":
        return run_flags(_flags_command(settings), args)
    serve("orders", settings, serve_options(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
