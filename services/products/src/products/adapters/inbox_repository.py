"""The inbox of applied integration events, in the caller's transaction."""

from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from products.adapters.tables import inbox
from servicekit.events.inbox import claim


class SqlInbox:
    """``InboxRepository`` over one connection."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._session = connection

    async def claim(self, event_id: UUID, consumer: str, now: datetime) -> bool:
        return await claim(self._session, inbox, event_id, consumer, now)
