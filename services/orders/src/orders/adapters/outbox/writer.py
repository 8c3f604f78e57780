"""Append events to the outbox inside the caller's transaction."""

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from orders.adapters.db.tables import outbox
from orders.adapters.outbox.codec import encode
from orders.domain.events import DomainEvent
from servicekit.outbox.status import OutboxStatus
from servicekit.requestid import current_request_id
from servicekit.tracing import current_traceparent

OUTBOX_COLUMNS = (
    "id", "event_type", "payload", "status", "attempts", "completed_handlers",
    "created_at", "next_attempt_at", "trace_context", "request_id",
)  # fmt: skip
"""The columns an outbox row is written with, in this order."""
INSERT_OUTBOX = insert(outbox).values({name: bindparam(name) for name in OUTBOX_COLUMNS})


async def append_events(
    session: AsyncConnection | AsyncSession, events: Iterable[DomainEvent], now: datetime
) -> int:
    """Insert one pending row per event, with the request's id and traceparent; returns how many."""
    rows = outbox_rows(events, now)
    if rows:
        await session.execute(INSERT_OUTBOX, rows)
    return len(rows)


def outbox_rows(events: Iterable[DomainEvent], now: datetime) -> list[dict[str, Any]]:
    """One pending outbox row per event, with the request's id and traceparent."""
    rows = []
    traceparent = current_traceparent()
    request_id = current_request_id()
    for event in events:
        event_type, payload = encode(event)
        rows.append(
            {
                "id": event.event_id,
                "event_type": event_type,
                "payload": payload,
                "status": OutboxStatus.PENDING.value,
                "attempts": 0,
                "completed_handlers": json.dumps([]),
                "created_at": now,
                "next_attempt_at": now,
                "trace_context": traceparent,
                "request_id": request_id,
            }
        )
    return rows
