"""Table definitions of the products database (the migrations create them)."""

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    Uuid,
)

from servicekit.db import metadata as new_metadata
from servicekit.events.inbox import inbox_table
from servicekit.sqltypes import UtcDateTime

metadata = new_metadata()

# Prices are stored in minor units (cents): exact on every backend, where SQLite
# would otherwise round-trip NUMERIC through floating point.
products = Table(
    "products",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("sku", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("price_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("stock", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint("stock >= 0", name="stock_not_negative"),
    CheckConstraint("price_minor >= 0", name="price_not_negative"),
)

reservations = Table(
    "reservations",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("reservation_key", String(200), nullable=False, unique=True),
    Column("request_hash", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint("status IN ('held', 'confirmed', 'released', 'expired')", name="status_known"),
    # The sweeper's query: held reservations by expiry.
    Index("ix_reservations_status_expires_at", "status", "expires_at"),
)

reservation_lines = Table(
    "reservation_lines",
    metadata,
    Column(
        "reservation_id",
        Uuid,
        ForeignKey("reservations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("product_id", Uuid, ForeignKey("products.id"), primary_key=True),
    Column("quantity", Integer, nullable=False),
    Column("product_name", String(200), nullable=False),
    Column("unit_price_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    CheckConstraint("quantity > 0", name="quantity_positive"),
    Index("ix_reservation_lines_product_id", "product_id"),
)

inbox = inbox_table(metadata)
