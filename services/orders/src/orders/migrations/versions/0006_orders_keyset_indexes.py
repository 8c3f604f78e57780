"""Keyset pagination indexes: (user_id, created_at, id), and with status; the old (user_id, created_at) goes

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_NEW = (
    ("ix_orders_user_id_created_at_id", ["user_id", "created_at", "id"]),
    ("ix_orders_user_id_status_created_at_id", ["user_id", "status", "created_at", "id"]),
)
_OLD = ("ix_orders_user_id_created_at", ["user_id", "created_at"])


def upgrade() -> None:
    # CONCURRENTLY on PostgreSQL: placing orders goes on while a long history is indexed
    # (it cannot run inside a transaction, hence the autocommit block).
    with op.get_context().autocommit_block():
        for name, columns in _NEW:
            op.create_index(name, "orders", columns, postgresql_concurrently=True)
        # Its every use is served by the first new index, of which it is a prefix.
        op.drop_index(_OLD[0], table_name="orders", postgresql_concurrently=True)


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.create_index(_OLD[0], "orders", _OLD[1], postgresql_concurrently=True)
        for name, _ in _NEW:
            op.drop_index(name, table_name="orders", postgresql_concurrently=True)
