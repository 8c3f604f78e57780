"""``INSERT ... ON CONFLICT DO NOTHING`` for whichever backend the session runs on."""

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def insert_or_ignore(session: AsyncSession, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An insert that skips rows conflicting with a unique constraint (both backends support it)."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()
