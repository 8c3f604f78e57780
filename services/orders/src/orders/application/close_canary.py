"""The canary fallback's write, decided once here over the flag store's compare-and-set (ADR 0018)."""

from datetime import datetime
from functools import partial

from orders.application.flags import CANARY_FLAGS, FlagStore, FlagUpdates, StoredFlags
from orders.config import ProductsClientMode

__all__ = ["close_canary", "closing"]


async def close_canary(store: FlagStore, *, actor: str, reason: str, tripped_at: datetime) -> bool:
    """Set ``canary_share`` to 0 unless an operator took over since ``tripped_at``; audited as ``actor``.

    Decided by ``closing`` on the stored state, under the store's write lock
    (``FlagStore.change_if``), not on this process's snapshot, which may be a
    refresh interval old. True when the store has the write (made now, or by
    an earlier attempt); False when skipped.
    """
    decide = partial(closing, actor=actor, tripped_at=tripped_at)
    return await store.change_if(decide, since=tripped_at, actor=actor, reason=reason)


def closing(stored: StoredFlags, *, actor: str, tripped_at: datetime) -> FlagUpdates | None:
    """The updates that close the canary: ``None`` to skip, ``{}`` when already closed.

    Skipped when someone other than ``actor`` changed (set or reset)
    ``canary_share`` or ``products_client`` after ``tripped_at``: the write
    would override an operator. Already closed when ``actor`` set
    ``canary_share`` at or after ``tripped_at`` (an earlier attempt landed).
    Otherwise ``canary_share`` becomes 0, and ``products_client`` becomes
    ``canary`` when the stored one is ``http`` (so local serves again).
    """
    if any(
        c.name in CANARY_FLAGS and c.actor != actor and c.at > tripped_at for c in stored.changes
    ):
        return None
    share = stored.overrides.get("canary_share")
    if share is not None and share.updated_by == actor and share.updated_at >= tripped_at:
        return {}
    updates: dict[str, object | None] = {"canary_share": 0}
    if stored.flags.products_client is ProductsClientMode.HTTP:
        updates["products_client"] = ProductsClientMode.CANARY.value
    return updates
