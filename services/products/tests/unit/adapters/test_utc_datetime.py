"""Timestamps go in as UTC and come out timezone-aware on both backends."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite

from products.adapters.utc_datetime import UtcDateTime

BERLIN_SUMMER = timezone(timedelta(hours=2))


def test_sqlite_stores_naive_utc() -> None:
    value = datetime(2026, 6, 1, 14, 0, tzinfo=BERLIN_SUMMER)

    stored = UtcDateTime().process_bind_param(value, SQLiteDialect_aiosqlite())

    assert stored == datetime(2026, 6, 1, 12, 0)
    assert stored is not None
    assert stored.tzinfo is None


def test_postgres_stores_aware_utc() -> None:
    value = datetime(2026, 6, 1, 14, 0, tzinfo=BERLIN_SUMMER)

    stored = UtcDateTime().process_bind_param(value, PGDialect_asyncpg())

    assert stored == value
    assert stored is not None
    assert stored.tzinfo is UTC


def test_naive_values_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        UtcDateTime().process_bind_param(datetime(2026, 1, 1), SQLiteDialect_aiosqlite())


def test_loaded_values_are_tagged_utc() -> None:
    loaded = UtcDateTime().process_result_value(datetime(2026, 1, 1, 8), SQLiteDialect_aiosqlite())

    assert loaded == datetime(2026, 1, 1, 8, tzinfo=UTC)
    assert loaded is not None
    assert loaded.tzinfo is UTC
