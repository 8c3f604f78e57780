"""Money columns named *_minor, the convention products' tables already use

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_RENAMES = (
    ("orders", "total_cents", "total_minor"),
    ("order_items", "unit_price_cents", "unit_price_minor"),
)


def upgrade() -> None:
    # A rename is a catalogue change on both backends (SQLite >= 3.25): no rewrite.
    for table, old, new in _RENAMES:
        op.alter_column(table, old, new_column_name=new)


def downgrade() -> None:
    for table, old, new in _RENAMES:
        op.alter_column(table, new, new_column_name=old)
