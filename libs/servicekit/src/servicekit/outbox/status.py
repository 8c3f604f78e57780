"""States of an outbox row."""

from enum import StrEnum


class OutboxStatus(StrEnum):
    """pending → dispatched, or → dead after the last failed attempt."""

    PENDING = "pending"
    DISPATCHED = "dispatched"
    DEAD = "dead"
