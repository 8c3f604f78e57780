"""Dev runner: products and orders on SQLite files, migrated, seeded and supervised.

``python -m deploy.dev`` runs products and orders (http mode) as two uvicorn
processes; ``--local`` runs orders alone in local (monolith) mode over the same
data; ``--mode shadow`` or ``--mode canary`` runs both with orders holding both
product clients, so the ``products_client`` flag can move users at run time. Ctrl-C or SIGTERM stops everything; a child that dies takes the runner
down with a non-zero exit status. The runner itself serves the development
identity provider's JWKS (the public half of ``<data-dir>/dev-jwt-key.pem``,
which ``just token`` signs with), and both services verify user tokens by it.
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from servicekit.devidp import DEV_JWT_AUDIENCE, DEV_JWT_ISSUER, JwksServer, SigningKey
from servicekit.processes import (
    ProcessExited,
    ProcessNotReady,
    ServerProcess,
    base_url,
    stop_processes,
    uvicorn_command,
)
from servicekit.settings import Environment, ServiceSettings

ROOT = Path(__file__).resolve().parent.parent
_POLL_SECONDS = 0.25
# The JWKS is served on loopback whatever --host says: only the services read it.
JWKS_HOST = "127.0.0.1"
DEV_KEY_NAME = "dev-jwt-key.pem"


class DevError(Exception):
    """A failure worth one line on stderr rather than a traceback."""


@dataclass(frozen=True, slots=True)
class Options:
    """What the runner was asked to do."""

    mode: str
    host: str
    products_port: int
    orders_port: int
    jwks_port: int
    data_dir: Path
    ready_timeout: float
    stop_timeout: float

    @property
    def local(self) -> bool:
        """Orders alone: products runs in-process, no products service."""
        return self.mode == "local"

    @property
    def jwks_url(self) -> str:
        """Where the services fetch the development identity provider's keys."""
        return f"{base_url(JWKS_HOST, self.jwks_port)}/.well-known/jwks.json"

    @property
    def key_file(self) -> Path:
        """The development signing key (``just token`` reads the same file)."""
        return self.data_dir / DEV_KEY_NAME


MODES = ("http", "local", "shadow", "canary")


@dataclass(frozen=True, slots=True)
class Service:
    """One uvicorn process to start: the package it serves, where, with what environment."""

    package: str
    host: str
    port: int
    env: Mapping[str, str]

    @property
    def url(self) -> str:
        """Base URL a client on this machine uses."""
        return base_url(self.host, self.port)

    def command(self) -> list[str]:
        """The uvicorn command line."""
        app = f"{self.package}.main:create_app"
        return uvicorn_command(app, self.host, self.port, "--timeout-graceful-shutdown", "5")

    def server(self) -> ServerProcess:
        """The process to spawn, in its own session, so shutdown order is ours."""
        return ServerProcess(
            self.package, self.command(), self.url, self.env, cwd=ROOT, new_session=True
        )


@dataclass(frozen=True, slots=True)
class Child:
    """A started service and its process."""

    service: Service
    process: "subprocess.Popen[bytes]"


def parse_args(argv: Sequence[str], environ: Mapping[str, str]) -> Options:
    """Flags win over ``DEV_*`` environment variables, which win over the defaults."""
    parser = argparse.ArgumentParser(prog="python -m deploy.dev", description=__doc__)
    parser.add_argument(
        "--mode",
        choices=MODES,
        default=environ.get("DEV_MODE", "http"),
        help="orders' APP_PRODUCTS_CLIENT: http (default), local (orders alone, products"
        " in-process), shadow or canary (both clients; the products_client flag picks per request)",
    )
    parser.add_argument("--local", action="store_true", help="the same as --mode local")
    parser.add_argument("--host", default=environ.get("DEV_HOST", "127.0.0.1"))
    parser.add_argument(
        "--products-port", type=int, default=int(environ.get("DEV_PRODUCTS_PORT", "8001"))
    )
    parser.add_argument(
        "--orders-port", type=int, default=int(environ.get("DEV_ORDERS_PORT", "8000"))
    )
    parser.add_argument(
        "--jwks-port",
        type=int,
        default=int(environ.get("DEV_JWKS_PORT", "8002")),
        help="port of the development identity provider's JWKS (on 127.0.0.1)",
    )
    parser.add_argument(
        "--data-dir", type=Path, default=Path(environ.get("DEV_DATA_DIR", ROOT / "data"))
    )
    parser.add_argument("--ready-timeout", type=float, default=60.0, help="seconds")
    parser.add_argument("--stop-timeout", type=float, default=10.0, help="seconds")
    args = parser.parse_args(list(argv))
    return Options(
        mode="local" if args.local else args.mode,
        host=args.host,
        products_port=args.products_port,
        orders_port=args.orders_port,
        jwks_port=args.jwks_port,
        data_dir=args.data_dir.resolve(),
        ready_timeout=args.ready_timeout,
        stop_timeout=args.stop_timeout,
    )


def sqlite_url(path: Path) -> str:
    """An aiosqlite URL for an absolute file path."""
    return f"sqlite+aiosqlite:///{path.resolve().as_posix()}"


def shared_env(environ: Mapping[str, str], options: Options) -> dict[str, str]:
    """What both processes must agree on: environment, the user tokens' keys, the service token.

    Issuer and audience resolve exactly as ``just token`` resolves them
    (``APP_*`` variables, then ``.env``, then the dev identity provider's), so
    a token minted there is accepted here. Products accepts orders' service
    credential because, with no ``APP_SERVICE_CALLERS``, development names
    ``orders`` by the same ``APP_SERVICE_TOKEN``.
    """
    settings = ServiceSettings(environment=Environment.DEVELOPMENT)
    return {
        **environ,
        "APP_ENVIRONMENT": Environment.DEVELOPMENT.value,
        "APP_JWT_JWKS_URL": options.jwks_url,
        "APP_JWT_ISSUER": settings.jwt_issuer or DEV_JWT_ISSUER,
        "APP_JWT_AUDIENCE": settings.jwt_audience or DEV_JWT_AUDIENCE,
        "APP_SERVICE_TOKEN": settings.service_token.get_secret_value(),
        "APP_LOG_JSON": environ.get("APP_LOG_JSON", "false"),
        # Not a setting: the banner's `just token` line names the key it signs with.
        "DEV_JWT_KEY_FILE": str(options.key_file),
    }


def products_service(options: Options, shared: Mapping[str, str]) -> Service:
    """Products on its own SQLite file."""
    env = {**shared, "APP_DATABASE_URL": sqlite_url(options.data_dir / "products.db")}
    return Service("products", options.host, options.products_port, env)


def orders_service(options: Options, shared: Mapping[str, str], products: Service) -> Service:
    """Orders in the chosen mode: against the products process, over its database, or both."""
    env = {
        **shared,
        "APP_DATABASE_URL": sqlite_url(options.data_dir / "orders.db"),
        "APP_PRODUCTS_DATABASE_URL": products.env["APP_DATABASE_URL"],
        "APP_PRODUCTS_CLIENT": options.mode,
        "APP_PRODUCTS_URL": products.url,
    }
    return Service("orders", options.host, options.orders_port, env)


def plan(options: Options, environ: Mapping[str, str]) -> tuple[Service, Service]:
    """The products and orders services, configured for the chosen mode."""
    shared = shared_env(environ, options)
    products = products_service(options, shared)
    return products, orders_service(options, shared, products)


def ensure_port_free(host: str, port: int) -> None:
    """Fail early and clearly when something already listens on the port."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        # As uvicorn binds: a port whose last connections linger in TIME_WAIT after a
        # Ctrl-C is free to listen on again; only a listener still holding it is refused.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise DevError(f"{host}:{port} is in use ({exc.strerror}); pick another port") from exc


def start_identity_provider(options: Options) -> JwksServer:
    """Serve the public half of the data directory's signing key (created on first use)."""
    options.data_dir.mkdir(parents=True, exist_ok=True)
    server = JwksServer(JWKS_HOST, options.jwks_port)
    server.publish(SigningKey.load_or_create(options.key_file))
    return server.start()


def _cli(service: Service, *args: str) -> None:
    """Run the service's CLI to completion (migrations, seed)."""
    command = [sys.executable, "-m", f"{service.package}.entrypoints.cli", *args]
    print(f"dev: {service.package} {' '.join(args)}", flush=True)
    # argv built from sys.executable and fixed module names, never a shell string
    result = subprocess.run(command, env=dict(service.env), cwd=ROOT, check=False)  # noqa: S603
    if result.returncode != 0:
        raise DevError(f"`{service.package} {' '.join(args)}` failed ({result.returncode})")


def prepare(products: Service, orders: Service, options: Options) -> None:
    """Migrate both databases and load the demo catalogue (idempotent, so every start)."""
    options.data_dir.mkdir(parents=True, exist_ok=True)
    _cli(products, "migrate")
    _cli(products, "seed")
    _cli(orders, "migrate")
    # `--mode X` is the mode asked for: a products_client stored by an earlier run's
    # `just flags set` would silently replace it, so it is reset (audited) first.
    reason = f"just dev --mode {options.mode}: the start-up mode applies"
    _cli(orders, "flags", "reset-mode", "--reason", reason, "--actor", "just-dev")


def start(service: Service) -> Child:
    """Spawn uvicorn in its own session, so shutdown order is ours, not the terminal's."""
    process = service.server().start().process
    assert process is not None  # start() spawned it
    return Child(service, process)


def wait_ready(child: Child, timeout: float, stop: threading.Event) -> None:
    """Poll readiness until it answers, the child dies, the deadline passes, or we stop."""
    server = child.service.server()
    server.process = child.process
    try:
        server.wait_ready(timeout, stop)
    except (ProcessExited, ProcessNotReady) as exc:
        raise DevError(str(exc)) from None


def supervise(children: Sequence[Child], stop: threading.Event) -> int:
    """Block until asked to stop (0) or until a child exits (its code, never 0)."""
    while not stop.wait(_POLL_SECONDS):
        for child in children:
            code = child.process.poll()
            if code is not None:
                print(f"dev: {child.service.package} exited with code {code}", file=sys.stderr)
                return code if code > 0 else 1
    return 0


def stop_all(children: Sequence[Child], timeout: float) -> None:
    """SIGTERM everything (orders first), wait, then SIGKILL whatever is left."""
    names = {child.process.pid: child.service.package for child in children}
    for process in stop_processes([child.process for child in children], timeout):
        print(f"dev: {names[process.pid]} ignored SIGTERM; killed", file=sys.stderr)


def first_product_id(products_url: str) -> str | None:
    """One seeded product id for the curl example, when the products API is up."""
    url = f"{products_url}/api/v1/products?page_size=1"
    try:
        with urllib.request.urlopen(url, timeout=2.0) as response:  # noqa: S310
            items = json.load(response).get("items") or []
    except (urllib.error.URLError, OSError, ValueError, AttributeError):
        return None
    return str(items[0]["id"]) if items and isinstance(items[0], dict) else None


def mode_in_force(orders_url: str) -> dict[str, Any] | None:
    """Orders' products check from ``/health/ready``: the mode in force and where from."""
    try:
        with urllib.request.urlopen(f"{orders_url}/health/ready", timeout=2.0) as response:  # noqa: S310
            products = json.load(response)["checks"]["products"]
    except urllib.error.HTTPError as error:  # 503 still carries the checks
        try:
            products = json.load(error)["checks"]["products"]
        except (ValueError, KeyError, TypeError):
            return None
    except (urllib.error.URLError, OSError, ValueError, KeyError, TypeError):
        return None
    return products if isinstance(products, dict) and "mode" in products else None


def mode_lines(started: str, running: Mapping[str, Any] | None) -> list[str]:
    """The banner's mode line: the mode orders reports in force, never only the one asked for."""
    if running is None:
        return [
            f"  orders started in {started} mode (its /health/ready did not say the mode in force)"
        ]
    mode = str(running["mode"])
    lines = [f"  orders uses the {mode} products client"]
    if mode != started:
        set_by = running.get("mode_set") or {}
        lines.append(
            f"  NOT the start-up mode {started}: products_client={mode} was set by"
            f" {set_by.get('by', '?')} at {set_by.get('at', '?')} ({set_by.get('reason', '?')})"
        )
    return lines


def banner(
    children: Sequence[Child],
    orders: Service,
    product_id: str | None,
    running: Mapping[str, Any] | None = None,
) -> str:
    """What is running, and how to use it."""
    lines = ["", "Shop is running:"]
    for child in children:
        service = child.service
        lines.append(f"  {service.package:<9} {service.url}/docs   (pid {child.process.pid})")
    mode = orders.env["APP_PRODUCTS_CLIENT"]
    key_file = Path(orders.env["DEV_JWT_KEY_FILE"])
    token = "just token"
    if key_file != ROOT / "data" / DEV_KEY_NAME:
        token = f"DEV_JWT_KEY_FILE={key_file} just token"
    lines += [*mode_lines(mode, running), ""]
    if mode in ("shadow", "canary"):
        lines += [
            "Move users between the clients while it runs (audited; `just flags show`):",
            "  just flags set products_client=canary canary_share=5 --reason 'first users'",
            "  just flags set products_client=local --reason 'back'",
            "",
        ]
    lines += [
        f"Tokens (the services verify them with the keys at {orders.env['APP_JWT_JWKS_URL']}):",
        f"  {token} alice                  # a customer",
        f"  {token} admin-user admin       # an admin",
        "",
        "Place an order:",
        "  TOKEN=$(just token alice)",
        f"  curl -s -X POST {orders.url}/api/v1/orders \\",
        '    -H "Authorization: Bearer $TOKEN" -H "Idempotency-Key: demo-1" \\',
        "    -H 'Content-Type: application/json' \\",
        f'    -d \'{{"items": [{{"product_id": "{product_id or "PRODUCT_ID"}", "quantity": 1}}]}}\'',
    ]
    if product_id is None:
        lines.append(
            "  (PRODUCT_ID: an id from the seeded catalogue, GET /api/v1/products on products;"
            " in --local mode that API is not served, `just dev` serves it on :8001)"
        )
    lines += ["  The same Idempotency-Key again returns the same order.", ""]
    products = [child.service for child in children if child.service.package == "products"]
    lines += [
        f"Browse the catalogue:  curl -s '{p.url}/api/v1/products?page_size=5'" for p in products
    ]
    lines += ["Ctrl-C stops everything.", ""]
    return "\n".join(lines)


def install_stop_handlers(stop: threading.Event) -> None:
    """Ctrl-C, SIGTERM and a closed terminal all mean: stop cleanly."""

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), handler)


def run(options: Options, environ: Mapping[str, str], stop: threading.Event) -> int:
    """Prepare, start, wait for readiness, print the banner, supervise, stop."""
    products, orders = plan(options, environ)
    wanted = [orders] if options.local else [products, orders]
    for service in wanted:
        ensure_port_free(service.host, service.port)
    ensure_port_free(JWKS_HOST, options.jwks_port)
    try:
        prepare(products, orders, options)
    except DevError:
        if stop.is_set():  # Ctrl-C during a migration also interrupts the migration
            return 0
        raise
    children: list[Child] = []
    identity_provider = start_identity_provider(options)
    try:
        for service in wanted:
            if stop.is_set():
                return 0
            children.append(start(service))
            wait_ready(children[-1], options.ready_timeout, stop)
        if stop.is_set():
            return 0
        product_id = None if options.local else first_product_id(products.url)
        print(banner(children, orders, product_id, mode_in_force(orders.url)), flush=True)
        return supervise(children, stop)
    finally:
        stop_all(children, options.stop_timeout)
        identity_provider.stop()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    environ = dict(os.environ)
    options = parse_args(sys.argv[1:] if argv is None else argv, environ)
    stop = threading.Event()
    install_stop_handlers(stop)
    try:
        return run(options, environ, stop)
    except DevError as exc:
        print(f"dev: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
