"""Dispatch outbox rows to event handlers: leased, retried with backoff, dead-lettered.

A row is leased before dispatch, so a relay that dies mid-way only delays its
rows until the lease runs out. Each handler that succeeded is remembered on
the row, so a retry re-runs only the handlers that failed, and one failing
handler never stops the others or the rows behind it.
"""

import asyncio
import json
import logging
from datetime import timedelta
from typing import Any

from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, Tracer
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orders.adapters.db.tables import outbox
from orders.adapters.metrics import OUTBOX_EVENTS, OUTBOX_LAG_SECONDS
from orders.adapters.outbox.codec import decode
from orders.adapters.outbox.status import OutboxStatus
from orders.application.event_bus import RetryLater
from orders.domain.ports import EventBusPort
from servicekit.clock import Clock, utc_now
from servicekit.requestid import set_request_id
from servicekit.tracing import link_to

logger = logging.getLogger(__name__)


class OutboxRelay:
    """Claims due rows and runs their handlers."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        bus: EventBusPort,
        *,
        max_attempts: int,
        lease_seconds: float = 30.0,
        batch_size: int = 50,
        backoff_base_seconds: float = 0.5,
        backoff_max_seconds: float = 300.0,
        clock: Clock = utc_now,
        tracer: Tracer | None = None,
    ) -> None:
        self._sessions = sessions
        self._bus = bus
        self._max_attempts = max_attempts
        self._lease = timedelta(seconds=lease_seconds)
        self._batch_size = batch_size
        self._backoff_base = backoff_base_seconds
        self._backoff_max = backoff_max_seconds
        self._clock = clock
        self._tracer = tracer

    async def run_once(self) -> int:
        """Dispatch one batch of due rows; returns how many were processed."""
        rows = await self._claim()
        for row in rows:
            await self._dispatch(row)
        return len(rows)

    async def drain(self) -> int:
        """Dispatch batches until one comes back short, so a backlog clears without waiting."""
        total = 0
        while (processed := await self.run_once()) >= self._batch_size:
            total += processed
        return total + processed

    async def _claim(self) -> list[Any]:
        now = self._clock()
        unleased = or_(outbox.c.locked_until.is_(None), outbox.c.locked_until < now)
        due = (outbox.c.status == OutboxStatus.PENDING.value) & (outbox.c.next_attempt_at <= now)
        async with self._sessions() as session:
            ids = (
                (
                    await session.execute(
                        select(outbox.c.id)
                        .where(due, unleased)
                        .order_by(outbox.c.created_at)
                        .limit(self._batch_size)
                    )
                )
                .scalars()
                .all()
            )
            if not ids:
                return []
            # Conditional update: a concurrent relay that got there first wins the row.
            rows = (
                (
                    await session.execute(
                        update(outbox)
                        .where(outbox.c.id.in_(ids), due, unleased)
                        .values(locked_until=now + self._lease)
                        .returning(outbox)
                    )
                )
                .mappings()
                .all()
            )
            await session.commit()
        return sorted(rows, key=lambda r: r["created_at"])

    async def _dispatch(self, row: Any) -> None:
        if self._tracer is None:
            await self._run_handlers(row)
            return
        # Linked, not a child: the request that wrote the row finished long ago.
        with self._tracer.start_as_current_span(
            f"outbox dispatch {row['event_type']}",
            kind=SpanKind.CONSUMER,
            context=Context(),
            links=link_to(row["trace_context"]),
            attributes={
                "messaging.system": "outbox",
                "messaging.message.id": str(row["id"]),
                "outbox.event_type": row["event_type"],
                "outbox.attempt": row["attempts"] + 1,
            },
        ):
            await self._run_handlers(row)

    async def _run_handlers(self, row: Any) -> None:
        # Handlers' logs and the integration events they publish carry the request's id.
        set_request_id(row["request_id"])
        done: set[str] = set(json.loads(row["completed_handlers"]))
        errors: list[str] = []
        permanent = False
        try:
            event = decode(row["event_type"], row["payload"])
        except Exception as exc:  # undecodable: retrying cannot help
            await self._finish(row, done, [f"decode: {exc!r}"], dead=True)
            return
        for name, handler in self._bus.handlers_for(event):
            if name in done:
                continue
            try:
                async with asyncio.timeout(self._lease.total_seconds() / 2):
                    await handler(event)
            except Exception as exc:
                logger.warning(
                    "event handler failed",
                    extra={"handler": name, "event_id": str(row["id"]), "error": repr(exc)},
                )
                errors.append(f"{name}: {exc!r}")
                permanent = permanent or not isinstance(exc, RetryLater)
            else:
                done.add(name)
        await self._finish(
            row, done, errors, dead=permanent and row["attempts"] + 1 >= self._max_attempts
        )

    async def _finish(self, row: Any, done: set[str], errors: list[str], *, dead: bool) -> None:
        now = self._clock()
        attempts = row["attempts"] + 1
        values: dict[str, Any] = {
            "attempts": attempts,
            "completed_handlers": json.dumps(sorted(done)),
            "locked_until": None,
            "last_error": "; ".join(errors)[:4000] or None,
        }
        if not errors:
            values |= {"status": OutboxStatus.DISPATCHED.value, "processed_at": now}
            outcome = "dispatched"
            OUTBOX_LAG_SECONDS.observe(max(0.0, (now - row["created_at"]).total_seconds()))
        elif dead:
            values |= {"status": OutboxStatus.DEAD.value, "processed_at": now}
            outcome = "dead"
            logger.error(
                "outbox event dead-lettered",
                extra={
                    "event_id": str(row["id"]),
                    "attempts": attempts,
                    "error": values["last_error"],
                },
            )
        else:
            values["next_attempt_at"] = now + self._backoff(attempts)
            outcome = "retry"
        async with self._sessions() as session:
            # Fenced on our lease: if it ran out and another relay took the row, leave it be.
            await session.execute(
                update(outbox)
                .where(outbox.c.id == row["id"], outbox.c.locked_until == row["locked_until"])
                .values(**values)
            )
            await session.commit()
        OUTBOX_EVENTS.labels(outcome).inc()

    def _backoff(self, attempts: int) -> timedelta:
        return timedelta(seconds=min(self._backoff_max, self._backoff_base * 2 ** (attempts - 1)))
