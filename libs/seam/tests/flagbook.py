"""Run-time flags for the seam's own tests: a snapshot, and a store the fallback writes through."""

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from seam import ACTOR, Mode

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Flags:
    """A flag snapshot as the seam reads it (``FLAGS`` names its fields)."""

    mode: Mode = Mode.CANARY
    share: int = 50
    rate: float = 1.0


@dataclass(frozen=True, slots=True)
class Override:
    """A flag set at run time."""

    value: object
    updated_by: str
    updated_at: datetime
    reason: str


class Clock:
    """A wall clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move on by ``seconds``."""
        self.now += timedelta(seconds=seconds)


@dataclass
class FlagBook:
    """The flag store the fallback writes through; refuses its first ``failures`` writes.

    ``close`` is the fallback's conditional write: skipped (False) when someone else
    changed ``mode`` or ``share`` after the trip.
    """

    clock: Clock
    defaults: Flags = field(default_factory=Flags)
    failures: int = 0
    overrides: dict[str, Override] = field(default_factory=dict)
    writes: list[tuple[dict[str, object | None], str, str]] = field(default_factory=list)
    changes: list[tuple[str, str, datetime]] = field(default_factory=list)

    def current(self) -> Flags:
        """The flags in force: the overrides over the defaults."""
        return replace(self.defaults, **{n: o.value for n, o in self.overrides.items()})  # type: ignore[arg-type]

    def seen(self) -> Mapping[str, Override]:
        """The overrides, as the fallback reads them."""
        return dict(self.overrides)

    async def change(
        self, updates: Mapping[str, object | None], *, actor: str, reason: str
    ) -> None:
        """Set (or with ``None`` reset) each flag."""
        self.writes.append((dict(updates), actor, reason))
        if self.failures:
            self.failures -= 1
            raise ConnectionError("database is down")
        now = self.clock()
        for name, value in updates.items():
            if value is None:
                self.overrides.pop(name, None)
            else:
                self.overrides[name] = Override(value, actor, now, reason)
            self.changes.append((name, actor, now))

    async def close(self, reason: str, tripped_at: datetime) -> bool:
        """The fallback's write of share 0, unless an operator changed the canary since."""
        if any(
            name in ("mode", "share") and who != ACTOR and at > tripped_at
            for name, who, at in self.changes
        ):
            return False
        share = self.overrides.get("share")
        if share is not None and share.updated_by == ACTOR and share.updated_at >= tripped_at:
            return True  # an earlier attempt landed
        await self.change({"share": 0}, actor=ACTOR, reason=reason)
        return True
