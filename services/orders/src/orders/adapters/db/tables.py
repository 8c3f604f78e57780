"""Table definitions. Money is stored as integer cents: exact on every backend."""

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    Uuid,
)

from cutover.flags import flag_tables
from servicekit.db import metadata as new_metadata
from servicekit.events.inbox import inbox_table
from servicekit.outbox.table import outbox_table
from servicekit.sqltypes import UtcDateTime

metadata = new_metadata()

orders = Table(
    "orders",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", String(200), nullable=False),
    Column("customer_email", String(320), nullable=True),
    Column("idempotency_key", String(200), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("reservation_id", Uuid, nullable=False),
    Column("status", String(20), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("total_minor", BigInteger, nullable=False),
    Column("payment_id", String(200), nullable=True),
    Column("cancel_reason", String(500), nullable=True),
    Column("version", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("user_id", "idempotency_key", name="uq_orders_user_id_idempotency_key"),
    # A user's orders newest first: list pages by number or by cursor (the row
    # comparison on (created_at, id) starts the scan at the cursor), and the
    # summary's date range. Scanned backward; no DESC needed (ADR 0023).
    Index("ix_orders_user_id_created_at_id", "user_id", "created_at", "id"),
    # The same with a status filter, so that a rare status does not scan a whole history.
    Index("ix_orders_user_id_status_created_at_id", "user_id", "status", "created_at", "id"),
    Index("ix_orders_status_created_at", "status", "created_at"),
)

order_items = Table(
    "order_items",
    metadata,
    Column("order_id", Uuid, ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("product_id", Uuid, nullable=False),
    Column("product_name", String(200), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_price_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
)

outbox = outbox_table(metadata)
inbox = inbox_table(metadata)

# The run-time flags and their audit trail (ADR 0018), as cut-over's flag store defines them.
feature_flag_tables = flag_tables(metadata)
feature_flags, feature_flag_changes = feature_flag_tables
