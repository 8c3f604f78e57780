"""Free text on the wire."""

NO_NUL = r"^[^\x00]*$"
"""Pattern of every free-text field: PostgreSQL text cannot hold NUL, so the
schema says so and validation refuses it at the edge (422 with the field named)."""
