"""Alembic environment of the products migrations (``servicekit.migrations.run_env``)."""

from products.adapters.db.tables import metadata
from servicekit.migrations import run_env

run_env(metadata)
