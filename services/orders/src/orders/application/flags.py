"""The flags port: what a request reads, and how an operator (or the fallback) changes it.

``current()`` is synchronous and cheap: implementations keep a snapshot and
refresh it in the background, so reading the flags costs a request nothing.
``change`` writes, records who changed what and why, and makes the new
snapshot current in this process at once; other processes see it within
their refresh interval.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from orders.config import FeatureFlags

FLAG_NAMES = frozenset(FeatureFlags.model_fields)


@dataclass(frozen=True, slots=True)
class FlagOverride:
    """A flag an operator (or the fallback) set, replacing its environment default."""

    value: object
    updated_by: str
    updated_at: datetime
    reason: str


class FlagStore(Protocol):
    """Where the run-time flags live."""

    def current(self) -> FeatureFlags:
        """The flags in force now: the overrides over the environment defaults."""
        ...

    def overrides(self) -> Mapping[str, FlagOverride]:
        """The flags set at run time, by name, with who set them, when and why."""
        ...

    async def change(
        self, updates: Mapping[str, object | None], *, actor: str, reason: str
    ) -> FeatureFlags:
        """Set (or, with ``None``, reset to the default) each named flag; audited."""
        ...


def apply_overrides(defaults: FeatureFlags, values: Mapping[str, object]) -> FeatureFlags:
    """``defaults`` with ``values`` applied, validated; raises ``ValueError`` on a bad one."""
    unknown = sorted(set(values) - FLAG_NAMES)
    if unknown:
        raise ValueError(f"unknown flag(s): {', '.join(unknown)}")
    # Every field is passed, so nothing is read from the environment here.
    return FeatureFlags(**{**defaults.model_dump(), **values})
