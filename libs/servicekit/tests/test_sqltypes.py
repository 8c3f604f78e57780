"""Timestamps go in as UTC and come out timezone-aware on both backends."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.engine import Dialect, make_url

from servicekit.sqltypes import UtcDateTime

BERLIN_SUMMER = timezone(timedelta(hours=2))


def _dialect(url: str) -> Dialect:
    return make_url(url).get_dialect()()


_SQLITE = _dialect("sqlite+aiosqlite://")
_POSTGRES = _dialect("postgresql+asyncpg://")


def test_sqlite_stores_naive_utc() -> None:
    value = datetime(2026, 6, 1, 14, 0, tzinfo=BERLIN_SUMMER)

    stored = UtcDateTime().process_bind_param(value, _SQLITE)

    assert stored == datetime(2026, 6, 1, 12, 0)
    assert stored is not None
    assert stored.tzinfo is None


def test_postgres_stores_aware_utc() -> None:
    value = datetime(2026, 6, 1, 14, 0, tzinfo=BERLIN_SUMMER)

    stored = UtcDateTime().process_bind_param(value, _POSTGRES)

    assert stored == value
    assert stored is not None
    assert stored.tzinfo is UTC


def test_naive_values_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        UtcDateTime().process_bind_param(datetime(2026, 1, 1), _SQLITE)


def test_loaded_values_are_tagged_utc() -> None:
    loaded = UtcDateTime().process_result_value(datetime(2026, 1, 1, 8), _SQLITE)

    assert loaded == datetime(2026, 1, 1, 8, tzinfo=UTC)
    assert loaded is not None
    assert loaded.tzinfo is UTC
