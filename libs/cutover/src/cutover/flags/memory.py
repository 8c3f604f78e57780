"""A flag store in this process's memory: tests, and apps given fixed flags."""

from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from datetime import datetime
from types import MappingProxyType
from typing import Generic

from cutover.flags.service import F, ServiceFlags
from cutover.flags.store import FlagChange, FlagOverride, FlagUpdates, StoredFlags
from cutover.flags.values import ALL_MODES, apply_overrides, validate_change
from seam import Mode
from servicekit.clock import Clock, utc_now


class InMemoryFlagStore(Generic[F]):
    """Flags changed here are seen by this process only, and forgotten at exit."""

    def __init__(
        self,
        flags: ServiceFlags[F],
        defaults: F,
        *,
        choosable: AbstractSet[str] = ALL_MODES,
        clock: Clock = utc_now,
    ) -> None:
        self._flags = flags
        self._defaults = defaults
        self._choosable = frozenset(Mode(mode) for mode in choosable)
        self._clock = clock
        self._overrides: dict[str, FlagOverride] = {}
        self._current = defaults
        self._changes: list[FlagChange] = []

    def current(self) -> F:
        """The flags in force now."""
        return self._current

    def overrides(self) -> Mapping[str, FlagOverride]:
        """The flags set at run time."""
        return MappingProxyType(self._overrides)

    async def change(self, updates: FlagUpdates, *, actor: str, reason: str) -> F:
        """Apply ``updates`` (``None`` resets a flag to its default)."""
        stored = validate_change(self._flags, self._defaults, updates, choosable=self._choosable)
        overrides = dict(self._overrides)
        now = self._clock()
        for name, value in stored.items():
            if value is None:
                overrides.pop(name, None)
            else:
                overrides[name] = FlagOverride(value, actor, now, reason)
            self._changes.append(FlagChange(name, actor, now))
        flags = apply_overrides(self._defaults, {n: o.value for n, o in overrides.items()})
        self._overrides, self._current = overrides, flags
        return flags

    async def change_if(
        self,
        decide: Callable[[StoredFlags[F]], FlagUpdates | None],
        *,
        since: datetime,
        actor: str,
        reason: str,
    ) -> bool:
        """Apply what ``decide`` makes of the flags and the changes after ``since``."""
        changes = tuple(c for c in self._changes if c.at > since)
        updates = decide(StoredFlags(self._current, self.overrides(), changes))
        if updates is None:
            return False
        if updates:
            # No await between the read and ``change``'s write: nothing else runs in between.
            await self.change(updates, actor=actor, reason=reason)
        return True
