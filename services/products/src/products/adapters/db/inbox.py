"""The inbox of applied integration events, in the caller's transaction."""

from datetime import datetime
from uuid import UUID

from products.adapters.db.tables import inbox
from servicekit.events.inbox import claim_in, claim_statement
from servicekit.sql import Sql

_CLAIM = claim_statement(inbox)


class SqlAlchemyInbox:
    """``InboxRepositoryPort`` over one connection."""

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    async def claim(self, event_id: UUID, consumer: str, now: datetime) -> bool:
        return await claim_in(self._sql, _CLAIM, event_id, consumer, now)
