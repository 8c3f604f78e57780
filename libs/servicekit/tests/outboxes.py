"""An example outbox for the relay's own tests: accounts opened and closed, one account's events in order."""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import MetaData, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from servicekit.db import create_engine
from servicekit.outbox.codec import EventCodec
from servicekit.outbox.metrics import outbox_metrics
from servicekit.outbox.relay import Outbox, OutboxRelay
from servicekit.outbox.status import OutboxStatus
from servicekit.outbox.table import outbox_table
from servicekit.requestid import current_request_id
from servicekit.tracing import current_traceparent

T0 = datetime(2026, 1, 1, tzinfo=UTC)
"""Where the tests' ``ManualClock`` starts."""

metadata = MetaData()
# Named unlike orders' table: the relay's hand-written statement takes the table's name.
outbox = outbox_table(metadata, "account_outbox")


@dataclass(frozen=True, kw_only=True)
class AccountEvent:
    """Something that happened to one account."""

    account: str
    event_id: UUID = field(default_factory=uuid4)


class Opened(AccountEvent):
    """An account was opened."""


class Closed(AccountEvent):
    """An account was closed."""


CODEC: EventCodec[AccountEvent] = EventCodec((Opened, Closed))

ACCOUNTS = Outbox(outbox, CODEC.decode, attrgetter("account"), outbox_metrics("example"))

Handler = Callable[[AccountEvent], Awaitable[None]]


class Bus:
    """Named handlers by exact event type."""

    def __init__(self) -> None:
        self._handlers: dict[type[AccountEvent], list[tuple[str, Handler]]] = {}

    def subscribe(self, event_type: type[AccountEvent], name: str, handler: Handler) -> None:
        """Register ``handler`` for ``event_type`` under ``name``."""
        self._handlers.setdefault(event_type, []).append((name, handler))

    def handlers_for(self, event: AccountEvent) -> Sequence[tuple[str, Handler]]:
        """Handlers subscribed to the event's exact type."""
        return tuple(self._handlers.get(type(event), ()))


def account_relay(
    sessions: async_sessionmaker[AsyncSession], bus: Bus, **options: Any
) -> OutboxRelay[AccountEvent]:
    """A relay of the example outbox."""
    return OutboxRelay(ACCOUNTS, sessions, bus, **options)


async def record(
    sessions: async_sessionmaker[AsyncSession], now: datetime, *events: AccountEvent
) -> None:
    """Commit one pending row per event, with the request's id and traceparent."""
    rows = []
    for event in events:
        event_type, payload = CODEC.encode(event)
        rows.append(
            {
                "id": event.event_id,
                "event_type": event_type,
                "payload": payload,
                "status": OutboxStatus.PENDING.value,
                "attempts": 0,
                "completed_handlers": "[]",
                "created_at": now,
                "next_attempt_at": now,
                "trace_context": current_traceparent(),
                "request_id": current_request_id(),
            }
        )
    async with sessions() as session:
        await session.execute(outbox.insert(), rows)
        await session.commit()


async def outbox_rows(sessions: async_sessionmaker[AsyncSession]) -> dict[str, dict[str, Any]]:
    """Every row of the example outbox, by id."""
    async with sessions() as session:
        found = (await session.execute(select(outbox))).mappings().all()
    return {str(row["id"]): dict(row) for row in found}


async def create_outbox(url: str) -> None:
    """Create the example outbox on ``url`` if it is missing, and empty it."""
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
            await connection.execute(outbox.delete())
    finally:
        await engine.dispose()
