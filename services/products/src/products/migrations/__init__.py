"""Alembic migrations of the products database (run via ``products migrate``)."""
