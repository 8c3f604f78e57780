"""Adapters: SQLAlchemy storage, the unit of work, the reservation sweeper, migrations."""
