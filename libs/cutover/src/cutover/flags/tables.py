"""The flag store's two tables, defined once on the service's ``MetaData`` (its migration creates them)."""

from typing import NamedTuple

from sqlalchemy import Column, Integer, MetaData, String, Table, Text

from servicekit.sqltypes import UtcDateTime


class FlagTables(NamedTuple):
    """The flags set at run time, one row each, and every change of one."""

    flags: Table
    changes: Table


def flag_tables(metadata: MetaData) -> FlagTables:
    """``feature_flags`` and ``feature_flag_changes``, on ``metadata``."""
    # Flags an operator (or the canary fallback) set at run time, over the environment's
    # defaults; one row per overridden flag, its value as JSON text.
    flags = Table(
        "feature_flags",
        metadata,
        Column("name", String(100), primary_key=True),
        Column("value", Text, nullable=False),
        Column("updated_by", String(200), nullable=False),
        Column("updated_at", UtcDateTime, nullable=False),
        Column("reason", String(500), nullable=False),
    )
    # Every change of a flag, newest last: who, why, from what to what (NULL = the default).
    changes = Table(
        "feature_flag_changes",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("name", String(100), nullable=False),
        Column("old_value", Text, nullable=True),
        Column("new_value", Text, nullable=True),
        Column("actor", String(200), nullable=False),
        Column("reason", String(500), nullable=False),
        Column("changed_at", UtcDateTime, nullable=False),
        Column("request_id", String(128), nullable=True),
    )
    return FlagTables(flags, changes)
