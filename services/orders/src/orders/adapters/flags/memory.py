"""A flag store in this process's memory: tests, and apps given fixed flags."""

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType

from orders.application.flag_values import apply_overrides, validate_change
from orders.application.flags import CANARY_FLAGS, FlagOverride
from orders.config import FeatureFlags, ProductsClientMode
from servicekit.clock import Clock, utc_now


class InMemoryFlagStore:
    """Flags changed here are seen by this process only, and forgotten at exit."""

    def __init__(
        self,
        defaults: FeatureFlags,
        *,
        choosable: frozenset[ProductsClientMode] = frozenset(ProductsClientMode),
        clock: Clock = utc_now,
    ) -> None:
        self._defaults = defaults
        self._choosable = choosable
        self._clock = clock
        self._overrides: dict[str, FlagOverride] = {}
        self._current = defaults
        self._changes: list[tuple[str, str, datetime]] = []  # name, actor, at

    def current(self) -> FeatureFlags:
        """The flags in force now."""
        return self._current

    def overrides(self) -> Mapping[str, FlagOverride]:
        """The flags set at run time."""
        return MappingProxyType(self._overrides)

    async def change(
        self, updates: Mapping[str, object | None], *, actor: str, reason: str
    ) -> FeatureFlags:
        """Apply ``updates`` (``None`` resets a flag to its default)."""
        stored = validate_change(self._defaults, updates, choosable=self._choosable)
        overrides = dict(self._overrides)
        now = self._clock()
        for name, value in stored.items():
            if value is None:
                overrides.pop(name, None)
            else:
                overrides[name] = FlagOverride(value, actor, now, reason)
            self._changes.append((name, actor, now))
        flags = apply_overrides(self._defaults, {n: o.value for n, o in overrides.items()})
        self._overrides, self._current = overrides, flags
        return flags

    async def close_canary(self, *, actor: str, reason: str, tripped_at: datetime) -> bool:
        """The fallback's write unless someone else changed the canary flags since the trip."""
        # No await before ``change`` writes: nothing else runs in between.
        if any(
            name in CANARY_FLAGS and who != actor and at > tripped_at
            for name, who, at in self._changes
        ):
            return False
        share = self._overrides.get("canary_share")
        if share is not None and share.updated_by == actor and share.updated_at >= tripped_at:
            return True  # an earlier attempt landed
        updates: dict[str, object | None] = {"canary_share": 0}
        if self._current.products_client is ProductsClientMode.HTTP:
            updates["products_client"] = ProductsClientMode.CANARY.value
        await self.change(updates, actor=actor, reason=reason)
        return True
