"""Time as a collaborator, so tests can move it."""

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]
"""Returns the current time, timezone-aware in UTC."""


def utc_now() -> datetime:
    """The real clock."""
    return datetime.now(UTC)
