"""Alembic environment of the orders migrations (``servicekit.migrations.run_env``)."""

from orders.adapters.db.tables import metadata
from servicekit.migrations import run_env

run_env(metadata)
