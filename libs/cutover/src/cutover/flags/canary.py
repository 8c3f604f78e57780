"""The canary fallback's write, decided once here over the flag store's compare-and-set (ADR 0018)."""

from datetime import datetime
from functools import partial
from typing import Any

from cutover.flags.service import F
from cutover.flags.store import FlagStore, FlagUpdates, StoredFlags
from seam import FlagNames, Mode

__all__ = ["close_canary", "closing"]


async def close_canary(
    store: FlagStore[F], names: FlagNames, *, actor: str, reason: str, tripped_at: datetime
) -> bool:
    """Set the canary share to 0 unless an operator took over since ``tripped_at``; audited as ``actor``.

    Decided by ``closing`` on the stored state, under the store's write lock
    (``FlagStore.change_if``), not on this process's snapshot, which may be a
    refresh interval old. True when the store has the write (made now, or by
    an earlier attempt); False when skipped.
    """
    decide = partial(closing, names=names, actor=actor, tripped_at=tripped_at)
    return await store.change_if(decide, since=tripped_at, actor=actor, reason=reason)


def closing(
    stored: StoredFlags[Any], *, names: FlagNames, actor: str, tripped_at: datetime
) -> FlagUpdates | None:
    """The updates that close the canary: ``None`` to skip, ``{}`` when already closed.

    Skipped when someone other than ``actor`` changed (set or reset) the share
    or the mode flag after ``tripped_at``: the write would override an
    operator. Already closed when ``actor`` set the share at or after
    ``tripped_at`` (an earlier attempt landed). Otherwise the share becomes 0,
    and the mode becomes ``canary`` when the stored one is ``http`` (so local
    serves again).
    """
    canary = (names.share, names.mode)
    if any(c.name in canary and c.actor != actor and c.at > tripped_at for c in stored.changes):
        return None
    share = stored.overrides.get(names.share)
    if share is not None and share.updated_by == actor and share.updated_at >= tripped_at:
        return {}
    updates: dict[str, object | None] = {names.share: 0}
    if Mode(getattr(stored.flags, names.mode)) is Mode.HTTP:
        updates[names.mode] = Mode.CANARY.value
    return updates
