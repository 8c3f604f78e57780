"""Dispatch outbox rows to event handlers in leased batches, retried with backoff, dead-lettered (ADR 0007, ADR 0022)."""

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Generic, TypeVar

from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, Tracer
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from servicekit.clock import Clock, utc_now
from servicekit.outbox.handlers import Handlers, RetryLater
from servicekit.outbox.metrics import OutboxMetrics
from servicekit.outbox.statements import FINISH_COLUMNS, statements
from servicekit.outbox.status import OutboxStatus
from servicekit.requestid import current_request_id, set_request_id
from servicekit.sql import Row, Sql
from servicekit.tracing import link_to

E = TypeVar("E")

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Outbox(Generic[E]):
    """One service's outbox as the relay sees it.

    ``decode(event_type, payload)`` gives a row's event (raising: the row is
    dead-lettered); ``aggregate(event)`` names the events that must be handled in
    their order (one order's, say); ``metrics`` and ``logger`` are the service's own.
    """

    table: Table
    decode: Callable[[str, str], E]
    aggregate: Callable[[E], object]
    metrics: OutboxMetrics
    logger: logging.Logger = logger


# A claimed row and its event, or why it could not be decoded.
_Decoded = tuple[Row, E | Exception]


class OutboxRelay(Generic[E]):
    """Claims due rows in batches and runs their handlers.

    A row is leased before dispatch, so a relay that dies mid-way only delays its
    rows until the lease runs out. Each handler that succeeded is remembered on
    the row, so a retry re-runs only the handlers that failed, and one failing
    handler never stops the others or the rows behind it. A batch is claimed in
    one statement, its aggregates' events are handled concurrently (one
    aggregate's events in order), and its outcomes are written in one round trip.
    """

    def __init__(
        self,
        outbox: Outbox[E],
        sessions: async_sessionmaker[AsyncSession],
        bus: Handlers[E],
        *,
        max_attempts: int,
        lease_seconds: float = 30.0,
        batch_size: int = 50,
        backoff_base_seconds: float = 0.5,
        backoff_max_seconds: float = 300.0,
        clock: Clock = utc_now,
        tracer: Tracer | None = None,
    ) -> None:
        self._outbox = outbox
        self._statements = statements(outbox.table)
        self._sessions = sessions
        # Core statements on the sessions' engine (servicekit.sql): no ORM session per row.
        self._engine: AsyncEngine = sessions.kw["bind"]
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
        if not rows:
            return 0
        finished: list[tuple[dict[str, Any], str]] = []
        groups = self._by_aggregate(rows)
        if len(groups) == 1:
            # One aggregate (every batch when they come one at a time): no task to run it in.
            request_id = current_request_id()
            try:
                await self._dispatch_in_order(groups[0], finished)
            finally:
                set_request_id(request_id)  # each row bound its own; the relay gets its back
        else:
            await asyncio.gather(*(self._dispatch_in_order(group, finished) for group in groups))
        await self._write([values for values, _ in finished])
        for _, outcome in finished:
            self._outbox.metrics.events.labels(outcome).inc()
        return len(rows)

    async def drain(self) -> int:
        """Dispatch batches until one comes back short, so a backlog clears without waiting."""
        total = 0
        while (processed := await self.run_once()) >= self._batch_size:
            total += processed
        return total + processed

    async def record_depth(self) -> int:
        """Count pending rows and publish the count on the depth gauge."""
        async with self._sessions() as session:
            depth = int((await session.execute(self._statements.pending)).scalar_one())
        self._outbox.metrics.depth.set(depth)
        return depth

    async def _claim(self) -> list[Row]:
        now = self._clock()
        params = {"now": now, "batch_size": self._batch_size, "lease_until": now + self._lease}
        # One statement, atomic on its own: on PostgreSQL it goes alone, without BEGIN /
        # COMMIT round trips; on SQLite it runs in a transaction, as before.
        async with Sql(self._engine, transaction=False) as sql:
            rows = await sql.rows(self._statements.claim, params)
            await sql.commit()
        return sorted(rows, key=lambda r: r["created_at"])

    async def _write(self, outcomes: list[dict[str, Any]]) -> None:
        """The batch's outcomes in one round trip: one statement on PostgreSQL."""
        async with Sql(self._engine, transaction=False) as sql:
            if sql.alone_possible:
                columns = [[values[name] for values in outcomes] for name in FINISH_COLUMNS]
                await sql.rows_alone(self._statements.finish_alone, *columns)
                return
            await sql.execute_many(self._statements.finish, outcomes)
            await sql.commit()

    async def _dispatch_in_order(
        self, group: list[_Decoded[E]], finished: list[tuple[dict[str, Any], str]]
    ) -> None:
        for row, event in group:
            finished.append(await self._dispatch(row, event))

    async def _dispatch(self, row: Row, event: E | Exception) -> tuple[dict[str, Any], str]:
        if self._tracer is None:
            return await self._run_handlers(row, event)
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
            return await self._run_handlers(row, event)

    async def _run_handlers(self, row: Row, event: E | Exception) -> tuple[dict[str, Any], str]:
        # Handlers' logs and the integration events they publish carry the request's id.
        set_request_id(row["request_id"])
        done: set[str] = set(json.loads(row["completed_handlers"]))
        errors: list[str] = []
        permanent = False
        if isinstance(event, Exception):  # undecodable: retrying cannot help
            return self._finish(row, done, [f"decode: {event!r}"], dead=True)
        for name, handler in self._bus.handlers_for(event):
            if name in done:
                continue
            try:
                async with asyncio.timeout(self._lease.total_seconds() / 2):
                    await handler(event)
            except Exception as exc:
                self._outbox.logger.warning(
                    "event handler failed",
                    extra={"handler": name, "event_id": str(row["id"]), "error": repr(exc)},
                )
                errors.append(f"{name}: {exc!r}")
                permanent = permanent or not isinstance(exc, RetryLater)
            else:
                done.add(name)
        return self._finish(
            row, done, errors, dead=permanent and row["attempts"] + 1 >= self._max_attempts
        )

    def _finish(
        self, row: Row, done: set[str], errors: list[str], *, dead: bool
    ) -> tuple[dict[str, Any], str]:
        """The row's new state, written with the rest of the batch, and the outcome's name."""
        now = self._clock()
        attempts = row["attempts"] + 1
        values: dict[str, Any] = {
            "row_id": row["id"],
            "leased_until": row["locked_until"],
            "new_status": row["status"],
            "new_attempts": attempts,
            "new_completed_handlers": json.dumps(sorted(done)),
            "new_last_error": "; ".join(errors)[:4000] or None,
            "new_next_attempt_at": row["next_attempt_at"],
            "new_processed_at": None,
        }
        if not errors:
            values |= {"new_status": OutboxStatus.DISPATCHED.value, "new_processed_at": now}
            outcome = "dispatched"
            self._outbox.metrics.lag_seconds.observe(
                max(0.0, (now - row["created_at"]).total_seconds())
            )
        elif dead:
            values |= {"new_status": OutboxStatus.DEAD.value, "new_processed_at": now}
            outcome = "dead"
            self._outbox.logger.error(
                "outbox event dead-lettered",
                extra={
                    "event_id": str(row["id"]),
                    "attempts": attempts,
                    "error": values["new_last_error"],
                },
            )
        else:
            values["new_next_attempt_at"] = now + self._backoff(attempts)
            outcome = "retry"
        return values, outcome

    def _backoff(self, attempts: int) -> timedelta:
        return timedelta(seconds=min(self._backoff_max, self._backoff_base * 2 ** (attempts - 1)))

    def _by_aggregate(self, rows: list[Row]) -> list[list[_Decoded[E]]]:
        """The batch, decoded, in groups that may run concurrently: one aggregate's events in order."""
        groups: dict[str, list[_Decoded[E]]] = {}
        for row in rows:
            event = self._decoded(row)
            key = None if isinstance(event, Exception) else self._outbox.aggregate(event)
            groups.setdefault(str(key or row["id"]), []).append((row, event))
        return list(groups.values())

    def _decoded(self, row: Row) -> E | Exception:
        try:
            return self._outbox.decode(row["event_type"], row["payload"])
        except Exception as exc:  # dead-lettered when its turn comes
            return exc
