"""``products migrate`` and ``products seed`` against a SQLite file."""

import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from products.entrypoints.cli import main


@pytest.fixture
def database_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """APP_DATABASE_URL points at a fresh file; the CLI's logging setup is undone afterwards."""
    path = tmp_path / "cli" / "products.db"
    monkeypatch.setenv("APP_DATABASE_URL", f"sqlite+aiosqlite:///{path}")
    # As a developer runs it: without APP_ENVIRONMENT a process is production.
    monkeypatch.setenv("APP_ENVIRONMENT", "development")
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield path
    root.handlers[:] = handlers
    root.setLevel(level)


def _skus(path: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(path) as connection:
        return connection.execute("SELECT sku, stock FROM products ORDER BY sku").fetchall()


def test_migrate_then_seed_twice_loads_the_demo_catalogue_once(database_file: Path) -> None:
    assert main(["migrate"]) == 0
    assert main(["seed"]) == 0
    first = _skus(database_file)

    assert main(["seed"]) == 0

    assert len(first) >= 50
    assert first[0] == ("DEMO-001", first[0][1])
    assert all(stock > 0 for _, stock in first)
    assert _skus(database_file) == first


def test_migrate_is_repeatable(database_file: Path) -> None:
    assert main(["migrate"]) == 0
    assert main(["migrate"]) == 0

    with sqlite3.connect(database_file) as connection:
        [(version,)] = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    assert version == "0002"


def test_unknown_command_exits_with_usage() -> None:
    with pytest.raises(SystemExit) as exited:
        main(["frobnicate"])
    assert exited.value.code == 2
