"""The dev runner: configuration of both processes, and supervision of real children."""

import json
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import jwt
import pytest

from deploy.dev import (
    Child,
    DevError,
    Options,
    Service,
    banner,
    ensure_port_free,
    parse_args,
    plan,
    start_identity_provider,
    stop_all,
    supervise,
    wait_ready,
)
from servicekit import token
from servicekit.devidp import DEV_JWT_AUDIENCE, DEV_JWT_ISSUER
from servicekit.processes import free_port

_IGNORE_SIGTERM = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('ready', flush=True); time.sleep(60)"
)


def _options(tmp_path: Path, *, local: bool = False) -> Options:
    return parse_args(["--data-dir", str(tmp_path)] + (["--local"] if local else []), {})


@pytest.fixture
def spawn() -> Iterator[Callable[[str], Child]]:
    """Real short-lived Python children, reaped and their pipes closed afterwards."""
    children: list[Child] = []

    def start(code: str) -> Child:
        process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
        children.append(Child(Service("fake", "127.0.0.1", 1, {}), process))
        return children[-1]

    yield start
    stop_all(children, timeout=5)
    for child in children:
        if child.process.stdout is not None:
            child.process.stdout.close()


def test_defaults_are_the_conventional_ports_and_the_data_directory() -> None:
    options = parse_args([], {})

    assert (options.host, options.products_port, options.orders_port) == ("127.0.0.1", 8001, 8000)
    assert options.data_dir == Path(__file__).resolve().parents[2] / "data"
    assert not options.local


def test_flags_override_environment_which_overrides_defaults() -> None:
    environ = {"DEV_PRODUCTS_PORT": "9101", "DEV_ORDERS_PORT": "9100", "DEV_HOST": "0.0.0.0"}

    from_env = parse_args([], environ)
    from_flags = parse_args(["--orders-port", "9200"], environ)

    assert (from_env.products_port, from_env.orders_port, from_env.host) == (9101, 9100, "0.0.0.0")
    assert from_flags.orders_port == 9200


def test_http_mode_points_orders_at_the_products_process(tmp_path: Path) -> None:
    products, orders = plan(_options(tmp_path), {})

    assert orders.env["APP_PRODUCTS_CLIENT"] == "http"
    assert orders.env["APP_PRODUCTS_URL"] == "http://127.0.0.1:8001" == products.url
    assert products.env["APP_DATABASE_URL"] == f"sqlite+aiosqlite:///{tmp_path}/products.db"
    assert orders.env["APP_DATABASE_URL"] == f"sqlite+aiosqlite:///{tmp_path}/orders.db"
    assert orders.env["APP_PRODUCTS_DATABASE_URL"] == products.env["APP_DATABASE_URL"]


def test_local_mode_runs_orders_over_the_products_database(tmp_path: Path) -> None:
    products, orders = plan(_options(tmp_path, local=True), {})

    assert orders.env["APP_PRODUCTS_CLIENT"] == "local"
    assert orders.env["APP_PRODUCTS_DATABASE_URL"] == products.env["APP_DATABASE_URL"]


@pytest.mark.parametrize("mode", ["shadow", "canary"])
def test_both_client_modes_run_products_and_give_orders_both_clients(
    tmp_path: Path, mode: str
) -> None:
    options = parse_args(["--data-dir", str(tmp_path), "--mode", mode], {})
    products, orders = plan(options, {})

    assert not options.local  # products runs as its own process too
    assert orders.env["APP_PRODUCTS_CLIENT"] == mode
    assert orders.env["APP_PRODUCTS_URL"] == products.url
    assert orders.env["APP_PRODUCTS_DATABASE_URL"] == products.env["APP_DATABASE_URL"]


def test_the_mode_comes_from_dev_mode_and_local_is_mode_local() -> None:
    assert parse_args([], {"DEV_MODE": "canary"}).mode == "canary"
    assert parse_args(["--local"], {"DEV_MODE": "canary"}).mode == "local"
    with pytest.raises(SystemExit):
        parse_args(["--mode", "hybrid"], {})


def test_both_client_modes_print_how_to_move_users(tmp_path: Path) -> None:
    _, orders = plan(parse_args(["--data-dir", str(tmp_path), "--mode", "canary"], {}), {})

    text = banner([], orders, None)

    assert "just flags set products_client=canary canary_share=5" in text
    assert "just flags" not in banner([], plan(_options(tmp_path), {})[1], None)


def test_wildcard_host_is_reached_through_loopback(tmp_path: Path) -> None:
    products, orders = plan(parse_args(["--host", "0.0.0.0", "--data-dir", str(tmp_path)], {}), {})

    assert orders.env["APP_PRODUCTS_URL"] == "http://127.0.0.1:8001"
    assert "0.0.0.0" in products.command()


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("localhost", "http://localhost:8001"),
        ("::", "http://[::1]:8001"),
        ("::1", "http://[::1]:8001"),
    ],
)
def test_products_url_is_dialable_for_any_listen_address(host: str, url: str) -> None:
    assert Service("products", host, 8001, {}).url == url


def test_both_processes_verify_user_tokens_by_the_runner_s_jwks_and_share_the_service_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_SERVICE_TOKEN", "s" * 30)
    monkeypatch.setenv("APP_ENVIRONMENT", "production")
    options = parse_args(["--data-dir", str(tmp_path), "--jwks-port", "9123"], {})

    products, orders = plan(options, {"APP_ENVIRONMENT": "production"})

    for service in (products, orders):
        assert service.env["APP_JWT_JWKS_URL"] == "http://127.0.0.1:9123/.well-known/jwks.json"
        assert service.env["APP_JWT_ISSUER"] == DEV_JWT_ISSUER
        assert service.env["APP_JWT_AUDIENCE"] == DEV_JWT_AUDIENCE
        assert service.env["APP_SERVICE_TOKEN"] == "s" * 30
        assert service.env["APP_ENVIRONMENT"] == "development"
        assert "APP_JWT_SECRET" not in service.env
    assert options.key_file == tmp_path / "dev-jwt-key.pem"


def test_just_token_signs_with_the_key_the_runner_publishes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("APP_ENVIRONMENT", "development")
    monkeypatch.setenv("DEV_DATA_DIR", str(tmp_path))
    options = parse_args(["--data-dir", str(tmp_path), "--jwks-port", str(free_port())], {})
    server = start_identity_provider(options)
    try:
        assert token.main(["alice", "admin"]) == 0
        minted = capsys.readouterr().out.strip()
        with urllib.request.urlopen(options.jwks_url, timeout=5) as response:
            jwks = json.load(response)
    finally:
        server.stop()
    (jwk,) = jwks["keys"]
    assert jwt.get_unverified_header(minted)["kid"] == jwk["kid"]
    claims = jwt.decode(
        minted,
        jwt.PyJWK(jwk).key,
        algorithms=["RS256"],
        audience=DEV_JWT_AUDIENCE,
        issuer=DEV_JWT_ISSUER,
    )
    assert (claims["sub"], claims["roles"]) == ("alice", ["admin"])
    assert "PRIVATE" not in json.dumps(jwks)


def test_uvicorn_serves_the_agreed_factory(tmp_path: Path) -> None:
    products, orders = plan(_options(tmp_path), {})

    assert products.command()[1:5] == ["-m", "uvicorn", "--factory", "products.main:create_app"]
    assert orders.command()[4] == "orders.main:create_app"
    assert orders.command()[orders.command().index("--port") + 1] == "8000"


def test_a_busy_port_is_reported_before_anything_starts() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]

        with pytest.raises(DevError, match=f"127.0.0.1:{port} is in use"):
            ensure_port_free("127.0.0.1", port)


def test_a_port_whose_connections_linger_in_time_wait_is_free() -> None:
    # What Ctrl-C on `just dev` leaves behind: the server closed its side of a connection
    # first, so that connection sits in TIME_WAIT on the listen port for up to a minute.
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)) as client:
            accepted, _ = listener.accept()
            accepted.close()  # the server's active close: TIME_WAIT is on its side
            client.recv(1)
    with socket.socket() as plain, pytest.raises(OSError, match="in use"):
        plain.bind(("127.0.0.1", port))  # the lingering connection is really there

    ensure_port_free("127.0.0.1", port)


def test_supervise_returns_the_exit_code_of_a_child_that_dies(
    spawn: Callable[[str], Child],
) -> None:
    child = spawn("import sys; sys.exit(3)")

    assert supervise([child], threading.Event()) == 3


def test_supervise_treats_a_clean_but_unexpected_exit_as_failure(
    spawn: Callable[[str], Child],
) -> None:
    child = spawn("pass")

    assert supervise([child], threading.Event()) == 1


def test_supervise_returns_zero_when_asked_to_stop(spawn: Callable[[str], Child]) -> None:
    child = spawn("import time; time.sleep(30)")
    stop = threading.Event()
    stop.set()

    assert supervise([child], stop) == 0


def test_stop_terminates_then_kills_a_child_that_ignores_sigterm(
    spawn: Callable[[str], Child],
) -> None:
    polite = spawn("import time; time.sleep(60)")
    stubborn = spawn(_IGNORE_SIGTERM)
    assert stubborn.process.stdout is not None
    assert stubborn.process.stdout.readline() == b"ready\n"  # handler installed

    stop_all([polite, stubborn], timeout=0.5)

    assert polite.process.returncode == -signal.SIGTERM
    assert stubborn.process.returncode == -signal.SIGKILL


def test_wait_ready_fails_when_the_child_exits_while_starting(
    spawn: Callable[[str], Child],
) -> None:
    child = spawn("import sys; sys.exit(4)")
    child.process.wait()

    with pytest.raises(DevError, match="exited with code 4 while starting"):
        wait_ready(child, timeout=5, stop=threading.Event())


def test_wait_ready_gives_up_after_the_timeout(spawn: Callable[[str], Child]) -> None:
    child = spawn("import time; time.sleep(30)")

    with pytest.raises(DevError, match="not ready after"):
        wait_ready(child, timeout=0.5, stop=threading.Event())
