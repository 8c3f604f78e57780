"""The ``orders`` command."""

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from pydantic import ValidationError

from orders.config import OfflineSettings, Settings
from orders.entrypoints.cli import main

# The CLI configures the root logger; each test puts it back.
pytestmark = pytest.mark.usefixtures("restore_logging")


@pytest.fixture(autouse=True)
def _development(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI as a developer runs it (without APP_ENVIRONMENT a process is production)."""
    monkeypatch.setenv("APP_ENVIRONMENT", "development")


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {
            name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }


def _reported(out: str) -> list[str]:
    """The CLI's own log messages (alembic's lines are left out)."""
    lines = [json.loads(line) for line in out.splitlines()]
    return [line["message"] for line in lines if line["logger"] == "orders.cli"]


def test_migrate_in_local_mode_migrates_orders_and_products(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("APP_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'orders.db'}")
    monkeypatch.setenv(
        "APP_PRODUCTS_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'products.db'}"
    )
    monkeypatch.setenv("APP_PRODUCTS_CLIENT", "local")

    assert main(["migrate"]) == 0

    assert {"orders", "order_items", "outbox"} <= _tables(tmp_path / "orders.db")
    assert {"products", "reservations"} <= _tables(tmp_path / "products.db")
    reported = _reported(capsys.readouterr().out)
    assert reported == ["orders database migrated", "products database migrated"]


def test_migrate_runs_in_production_without_auth_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The migration Job is given the database URL only (deploy/k8s/base/migrations.yaml).
    monkeypatch.setenv("APP_ENVIRONMENT", "production")
    for name in (
        "APP_JWT_SECRET",
        "APP_SERVICE_TOKEN",
        "APP_JWT_JWKS_URL",
        "APP_JWT_ISSUER",
        "APP_JWT_AUDIENCE",
        "APP_JWT_ALLOW_HS256_IN_PRODUCTION",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("APP_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'orders.db'}")
    monkeypatch.setenv("APP_PRODUCTS_CLIENT", "http")

    assert main(["migrate"]) == 0
    assert "orders" in _tables(tmp_path / "orders.db")
    with pytest.raises(ValidationError, match="identity provider's keys"):
        Settings()  # what serves the API still demands them
    monkeypatch.setenv("APP_JWT_JWKS_URL", "https://idp.example.com/certs")
    monkeypatch.setenv("APP_JWT_ISSUER", "https://idp.example.com")
    monkeypatch.setenv("APP_JWT_AUDIENCE", "shop")
    with pytest.raises(ValidationError, match="production refuses default or short secrets"):
        Settings()  # and the service token it presents to products
    for name in ("APP_JWT_JWKS_URL", "APP_JWT_ISSUER", "APP_JWT_AUDIENCE"):
        monkeypatch.delenv(name)
    OfflineSettings()  # what the worker runs with needs none of it


def test_migrate_in_http_mode_reports_only_the_orders_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("APP_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'orders.db'}")
    monkeypatch.setenv("APP_PRODUCTS_CLIENT", "http")

    assert main(["migrate"]) == 0

    reported = _reported(capsys.readouterr().out)
    assert reported == ["orders database migrated"]


def test_serve_defaults_to_the_port_the_readme_names(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *_args, **kwargs: calls.append(kwargs))

    assert main(["serve"]) == 0

    assert [(call["host"], call["port"]) for call in calls] == [("127.0.0.1", 8000)]


def test_unknown_commands_exit_with_usage() -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["frobnicate"])

    assert exit_info.value.code == 2


def test_worker_refuses_the_local_event_bus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_EVENT_BUS", "local")

    with pytest.raises(SystemExit) as exit_info:
        main(["worker"])

    assert exit_info.value.code == 2
