"""The outbox table the relay reads and writes, in a service's metadata (each service migrates its own)."""

from sqlalchemy import Column, Index, Integer, MetaData, String, Table, Text, Uuid

from servicekit.sqltypes import UtcDateTime


def outbox_table(metadata: MetaData, name: str = "outbox") -> Table:
    """The columns ``servicekit.outbox.statements`` uses, and the index its lease reads.

    ``name`` must be a plain identifier: the relay's hand-written PostgreSQL update
    names the table as text.
    """
    return Table(
        name,
        metadata,
        Column("id", Uuid, primary_key=True),
        Column("event_type", String(100), nullable=False),
        Column("payload", Text, nullable=False),
        Column("status", String(20), nullable=False),
        Column("attempts", Integer, nullable=False),
        Column("completed_handlers", Text, nullable=False),
        Column("last_error", Text, nullable=True),
        Column("created_at", UtcDateTime, nullable=False),
        Column("next_attempt_at", UtcDateTime, nullable=False),
        Column("locked_until", UtcDateTime, nullable=True),
        Column("processed_at", UtcDateTime, nullable=True),
        # W3C traceparent of the request that wrote the row (NULL when tracing was off),
        # so the relay's later work links back to it.
        Column("trace_context", String(55), nullable=True),
        Column("request_id", String(128), nullable=True),
        Index(f"ix_{name}_status_next_attempt_at", "status", "next_attempt_at"),
    )
