"""``<service> serve``: uvicorn with N worker processes and metrics summed across them.

With more than one worker, prometheus-client runs in multiprocess mode: every
worker writes its samples to files under ``PROMETHEUS_MULTIPROC_DIR`` and
``/metrics`` (any worker) sums them. The directory is emptied on start, since
files of an earlier run would be summed in too; without the variable a fresh
temporary directory is made and removed on exit. A worker's ``live*`` gauges
leave with it (``servicekit.metrics``). With one worker the
variable is dropped and the in-memory registry serves, as in tests.
"""

import argparse
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from servicekit.settings import ServiceSettings

MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
WORKER_HEALTHCHECK_SECONDS = 60


@dataclass(frozen=True, slots=True)
class ServeOptions:
    """Where and how to listen (the ``serve`` command's flags)."""

    host: str
    port: int
    workers: int | None = None
    forwarded_allow_ips: str | None = None
    graceful_shutdown_seconds: int | None = None


def add_serve_arguments(commands: "argparse._SubParsersAction[Any]", default_port: int) -> None:
    """The ``serve`` subcommand and its flags."""
    serve = commands.add_parser("serve", help="run the HTTP API with uvicorn")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=default_port)
    serve.add_argument(
        "--workers",
        type=int,
        default=None,
        help="worker processes (default: APP_WORKERS, else the CPUs in production, else 1)",
    )
    serve.add_argument("--forwarded-allow-ips", default=None, help="trusted proxy addresses")
    serve.add_argument(
        "--timeout-graceful-shutdown", type=int, default=None, help="seconds to finish requests"
    )


def serve_options(args: argparse.Namespace) -> ServeOptions:
    """``ServeOptions`` from the parsed ``serve`` flags."""
    if args.workers is not None and not 1 <= args.workers <= 64:
        raise SystemExit("--workers must be between 1 and 64")
    return ServeOptions(
        host=args.host,
        port=args.port,
        workers=args.workers,
        forwarded_allow_ips=args.forwarded_allow_ips,
        graceful_shutdown_seconds=args.timeout_graceful_shutdown,
    )


def worker_count(settings: ServiceSettings, requested: int | None = None) -> int:
    """``--workers``, else ``APP_WORKERS``, else the CPUs in production and 1 elsewhere."""
    if requested is not None:
        return requested
    if settings.workers is not None:
        return settings.workers
    if settings.is_production:
        return len(os.sched_getaffinity(0))
    return 1


def prepare_metrics_dir(service: str, workers: int) -> Path | None:
    """Set up (and empty) the multiprocess metrics directory; the one made here, if any."""
    if workers == 1:
        os.environ.pop(MULTIPROC_DIR_ENV, None)
        return None
    configured = os.environ.get(MULTIPROC_DIR_ENV)
    if configured:
        path = Path(configured)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()
        return None
    made = Path(tempfile.mkdtemp(prefix=f"{service}-metrics-"))
    os.environ[MULTIPROC_DIR_ENV] = str(made)
    return made


def serve(service: str, settings: ServiceSettings, options: ServeOptions) -> None:
    """Run ``<service>.main:create_app`` until stopped."""
    workers = worker_count(settings, options.workers)
    made = prepare_metrics_dir(service, workers)
    try:
        uvicorn.run(
            f"{service}.main:create_app",
            factory=True,
            host=options.host,
            port=options.port,
            workers=workers,
            log_config=None,
            proxy_headers=True,
            forwarded_allow_ips=options.forwarded_allow_ips,
            timeout_graceful_shutdown=options.graceful_shutdown_seconds,
            server_header=False,
            # A spawned worker answers the supervisor's health pings only once its
            # imports are done; uvicorn's 5 s default kills slow starters on a busy
            # host over and over.
            timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        )
    finally:
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)
