"""The flags port: a cheap snapshot per request, audited changes, a compare-and-set (ADR 0018)."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol

from pydantic import BaseModel, Field

from cutover.flags.errors import FALLBACK_ACTOR
from cutover.flags.service import F
from seam import Mode


@dataclass(frozen=True, slots=True)
class FlagOverride:
    """A flag an operator (or the fallback) set, replacing its environment default."""

    value: object
    updated_by: str
    updated_at: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class FlagChange:
    """One audited change of one flag (set or reset): which, by whom, when."""

    name: str
    actor: str
    at: datetime


@dataclass(frozen=True, slots=True)
class StoredFlags(Generic[F]):
    """The store's own state, read where nothing else can change it: what ``change_if`` decides on."""

    flags: F
    overrides: Mapping[str, FlagOverride]
    changes: tuple[FlagChange, ...]
    """The audited changes after ``change_if``'s ``since``, oldest first."""


FlagUpdates = Mapping[str, object | None]
"""Flags to set, by name; ``None`` resets one to its default."""


class FlagChangeView(BaseModel):
    """One audited change of one flag."""

    name: str
    old_value: Any = Field(description="The override before (JSON); null: the default was in force")
    new_value: Any = Field(description="The override after (JSON); null: reset to the default")
    actor: str = Field(
        description=f"Who: the admin's user id, the CLI's --actor, or {FALLBACK_ACTOR}"
    )
    reason: str
    changed_at: datetime
    request_id: str | None = Field(description="The API request that made the change, if any")


class FlagStore(Protocol[F]):
    """Where the run-time flags live.

    ``current()`` is synchronous and cheap (a snapshot refreshed in the background);
    ``change`` makes the new snapshot current here at once, elsewhere within a refresh.
    """

    def current(self) -> F:
        """The flags in force now: the overrides over the environment defaults."""
        ...

    def overrides(self) -> Mapping[str, FlagOverride]:
        """The flags set at run time, by name, with who set them, when and why."""
        ...

    async def change(self, updates: FlagUpdates, *, actor: str, reason: str) -> F:
        """Set (or, with ``None``, reset to the default) each named flag; audited."""
        ...

    async def change_if(
        self,
        decide: Callable[[StoredFlags[F]], FlagUpdates | None],
        *,
        since: datetime,
        actor: str,
        reason: str,
    ) -> bool:
        """Compare-and-set: write what ``decide`` makes of the stored state, atomically.

        The store reads its stored flags (not a snapshot) and its changes after
        ``since``, calls ``decide`` on them and writes the updates it returns
        (audited, as ``change`` does) before any other change can land. ``None``
        refuses: nothing is written and the answer is False; otherwise True,
        also for no updates, and for a write that committed although re-reading
        the flags afterwards failed (a retry must not write it again).
        """
        ...


class AdminFlagStore(FlagStore[F], Protocol[F]):
    """A flag store an operator administers: its defaults, what it ignored, its history."""

    @property
    def defaults(self) -> F:
        """The environment's flags, in force where nothing is set."""
        ...

    @property
    def choosable(self) -> frozenset[Mode]:
        """The modes a change of the mode flag may choose in this process."""
        ...

    def ignored(self) -> Mapping[str, str]:
        """Stored flags left out because their value no longer validates, and why."""
        ...

    async def history(self, page: int, page_size: int) -> tuple[list[FlagChangeView], int]:
        """One page of the audit trail, newest first, and the number of changes."""
        ...
