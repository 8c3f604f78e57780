"""The ``orders`` command."""

import sqlite3
from pathlib import Path

import pytest

from orders.entrypoints.cli import main


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {
            name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }


def test_migrate_in_local_mode_migrates_orders_and_products(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'orders.db'}")
    monkeypatch.setenv(
        "APP_PRODUCTS_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'products.db'}"
    )
    monkeypatch.setenv("APP_PRODUCTS_CLIENT", "local")

    assert main(["migrate"]) == 0

    assert {"orders", "order_items", "outbox"} <= _tables(tmp_path / "orders.db")
    assert {"products", "reservations"} <= _tables(tmp_path / "products.db")


def test_unknown_commands_exit_with_usage() -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["frobnicate"])

    assert exit_info.value.code == 2
