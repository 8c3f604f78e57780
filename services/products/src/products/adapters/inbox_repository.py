"""The inbox of applied integration events, in the caller's transaction."""

from datetime import datetime
from uuid import UUID

from sqlalchemy import bindparam
from sqlalchemy.dialects import postgresql

from products.adapters.tables import inbox
from servicekit.sql import Sql

# servicekit.events.inbox.claim's statement, built once (it compiles for SQLite too).
_CLAIM = (
    postgresql.insert(inbox)
    .values(
        event_id=bindparam("event_id"),
        consumer=bindparam("consumer"),
        processed_at=bindparam("processed_at"),
    )
    .on_conflict_do_nothing()
)


class SqlInbox:
    """``InboxRepository`` over one connection."""

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    async def claim(self, event_id: UUID, consumer: str, now: datetime) -> bool:
        params = {"event_id": event_id, "consumer": consumer, "processed_at": now}
        return await self._sql.execute(_CLAIM, params) == 1
