"""run_env, the one alembic env.py body: foreign keys on while migrating, values in offline SQL."""

import io
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config

from servicekit.migrations import alembic_config, upgrade

_ENV = """
from sqlalchemy import MetaData

from servicekit.migrations import run_env

run_env(MetaData())
"""

_VERSION = """
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("notes", sa.Column("body", sa.String(20)))
    op.execute(sa.table("notes", sa.column("body", sa.String)).insert().values(body="kept"))
    op.execute("CREATE TABLE seen AS SELECT foreign_keys FROM pragma_foreign_keys")
"""


@pytest.fixture
def migrations(tmp_path: Path) -> Path:
    location = tmp_path / "migrations"
    (location / "versions").mkdir(parents=True)
    (location / "env.py").write_text(_ENV)
    (location / "versions" / "0001_notes.py").write_text(_VERSION)
    return location


def test_online_migrations_on_sqlite_run_with_foreign_keys_on(
    migrations: Path, tmp_path: Path
) -> None:
    database = tmp_path / "t.db"

    upgrade(migrations, f"sqlite+aiosqlite:///{database}")

    with closing(sqlite3.connect(database)) as connection:
        assert connection.execute("SELECT foreign_keys FROM seen").fetchall() == [(1,)]
        assert connection.execute("SELECT body FROM notes").fetchall() == [("kept",)]


def test_offline_sql_carries_the_values(migrations: Path) -> None:
    config = alembic_config(migrations, "sqlite://")
    config.output_buffer = io.StringIO()

    command.upgrade(config, "head", sql=True)

    assert "INSERT INTO notes (body) VALUES ('kept')" in config.output_buffer.getvalue()


def test_a_config_without_a_database_url_is_refused(migrations: Path) -> None:
    config = Config()
    config.set_main_option("script_location", str(migrations))

    with pytest.raises(RuntimeError, match=r"no sqlalchemy\.url"):
        command.upgrade(config, "head")
