"""Flags in the service's database: a snapshot per process, audited changes under a table lock (ADR 0018)."""

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from datetime import datetime
from types import MappingProxyType
from typing import Any, Generic

from sqlalchemy import Row, delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from cutover.flags.service import F, ServiceFlags
from cutover.flags.store import FlagChange, FlagChangeView, FlagOverride, FlagUpdates, StoredFlags
from cutover.flags.tables import FlagTables
from cutover.flags.values import ALL_MODES, effective_flags, validate_change
from seam import Mode
from servicekit.clock import Clock, utc_now
from servicekit.db import read_engine
from servicekit.requestid import current_request_id

logger = logging.getLogger(__name__)


def _check(actor: str, reason: str) -> None:
    if not actor or not reason.strip():
        raise ValueError("a flag change needs an actor and a reason")


def _decode(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:  # written by hand, not by a change: shown as it is
        return text


class SqlFlagStore(Generic[F]):
    """The ``FlagStore`` over the flags table (and the changes table, its audit trail)."""

    def __init__(
        self,
        engine: AsyncEngine,
        tables: FlagTables,
        flags: ServiceFlags[F],
        defaults: F,
        *,
        choosable: AbstractSet[str] = ALL_MODES,
        clock: Clock = utc_now,
    ) -> None:
        self._engine = engine
        # Reads never wait for writers (on SQLite a deferred BEGIN, not IMMEDIATE).
        self._reads = read_engine(engine)
        self._tables = tables
        self._flags = flags
        self._defaults = defaults
        self._choosable = frozenset(Mode(mode) for mode in choosable)
        self._clock = clock
        self._current = defaults
        self._overrides: Mapping[str, FlagOverride] = MappingProxyType({})
        self._ignored: Mapping[str, str] = MappingProxyType({})
        self._seen: tuple[tuple[Any, ...], ...] | None = None
        self._warned: set[tuple[str, str]] = set()
        self._refreshing = asyncio.Lock()

    @property
    def defaults(self) -> F:
        """The environment's flags, in force where nothing is stored."""
        return self._defaults

    @property
    def choosable(self) -> frozenset[Mode]:
        """The modes a change of the mode flag may choose here."""
        return self._choosable

    def current(self) -> F:
        """The flags in force now (the last snapshot read)."""
        return self._current

    def overrides(self) -> Mapping[str, FlagOverride]:
        """The stored flags in force, with who set them, when and why."""
        return self._overrides

    def ignored(self) -> Mapping[str, str]:
        """Stored flags left out because their value no longer validates, and why."""
        return self._ignored

    async def refresh(self) -> F:
        """Re-read the stored flags (one SELECT) and make them current."""
        flags = self._tables.flags
        # One refresh at a time, so an older read never replaces a newer one.
        async with self._refreshing:
            async with self._reads.connect() as connection:
                rows = (await connection.execute(select(flags).order_by(flags.c.name))).all()
            self._load(rows)
        return self._current

    def _load(self, rows: Any) -> None:
        seen = tuple(tuple(row) for row in rows)
        if seen == self._seen:
            return
        flags, overrides, ignored = self._read(rows)
        for name, problem in ignored.items():
            raw = next(row.value for row in rows if row.name == name)
            if (name, raw) not in self._warned:
                self._warned.add((name, raw))
                logger.warning(
                    "stored flag %s=%s ignored (%s); its default applies",
                    name,
                    raw,
                    problem,
                    extra={"flag": name, "stored_value": raw, "problem": problem},
                )
        self._overrides = MappingProxyType(overrides)
        self._ignored = MappingProxyType(ignored)
        self._current = flags
        self._seen = seen

    def _read(self, rows: Any) -> tuple[F, dict[str, FlagOverride], dict[str, str]]:
        # A stored value that no longer validates (a limit lowered, a flag removed, a
        # mode not built here) is left out and its default applies: never a failed request.
        values: dict[str, Any] = {}
        unreadable: dict[str, str] = {}
        for row in rows:
            try:
                values[row.name] = json.loads(row.value)
            except ValueError:
                unreadable[row.name] = "not JSON"
        flags, ignored = effective_flags(
            self._flags, self._defaults, values, choosable=self._choosable
        )
        ignored = {**ignored, **unreadable}
        overrides = {
            row.name: FlagOverride(
                getattr(flags, row.name), row.updated_by, row.updated_at, row.reason
            )
            for row in rows
            if row.name not in ignored
        }
        return flags, overrides, ignored

    async def change(self, updates: FlagUpdates, *, actor: str, reason: str) -> F:
        """Validate, write and audit ``updates`` in one transaction, then make them current."""
        _check(actor, reason)
        stored = validate_change(self._flags, self._defaults, updates, choosable=self._choosable)
        if stored:
            async with self._engine.begin() as connection:
                await self._lock(connection)
                await self._write(connection, stored, actor, reason)
        return await self.refresh()

    async def change_if(
        self,
        decide: Callable[[StoredFlags[F]], FlagUpdates | None],
        *,
        since: datetime,
        actor: str,
        reason: str,
    ) -> bool:
        """Decide on the stored rows and write, in one transaction under the write lock.

        Once committed it is True even if the refresh afterwards fails: the next
        periodic refresh brings the write, and a retry would write it twice.
        """
        _check(actor, reason)
        async with self._engine.begin() as connection:
            await self._lock(connection)
            updates = decide(await self._stored(connection, since))
            if updates is None:
                return False
            stored = validate_change(
                self._flags, self._defaults, updates, choosable=self._choosable
            )
            if not stored:
                return True
            await self._write(connection, stored, actor, reason)
        try:
            await self.refresh()
        except Exception:
            logger.warning(
                "conditional flag change by %s committed; re-reading the flags failed (the"
                " next refresh brings it)",
                actor,
                exc_info=True,
            )
        return True

    async def _lock(self, connection: AsyncConnection) -> None:
        # Changes are rare and must see each other's rows, including a row another change
        # is inserting or deleting (a row lock cannot cover a row that does not exist yet):
        # one change at a time. SHARE ROW EXCLUSIVE conflicts with itself and with writes,
        # not with the refresh's SELECT, so readers never wait (on SQLite the refresh is a
        # deferred read, servicekit.db.read_engine: it takes no write lock either).
        # SQLite's BEGIN IMMEDIATE already holds the database's only write lock.
        if connection.dialect.name == "postgresql":
            table = connection.dialect.identifier_preparer.format_table(self._tables.flags)
            await connection.execute(text(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE"))

    async def _stored(self, connection: AsyncConnection, since: datetime) -> StoredFlags[F]:
        rows = (await connection.execute(select(self._tables.flags))).all()
        flags, overrides, _ = self._read(rows)
        changes = self._tables.changes
        recent = await connection.execute(
            select(changes.c.name, changes.c.actor, changes.c.changed_at)
            .where(changes.c.changed_at > since)
            .order_by(changes.c.id)
        )
        return StoredFlags(
            flags,
            MappingProxyType(overrides),
            tuple(FlagChange(row.name, row.actor, row.changed_at) for row in recent),
        )

    async def _write(
        self, connection: AsyncConnection, stored: Mapping[str, Any], actor: str, reason: str
    ) -> None:
        flags = self._tables.flags
        names = sorted(stored)
        locked = await connection.execute(
            select(flags.c.name, flags.c.value).where(flags.c.name.in_(names))
        )
        before: dict[str, str] = {row.name: row.value for row in locked}
        now = self._clock()
        request_id = current_request_id()
        audit = []
        for name in names:
            new = None if stored[name] is None else json.dumps(stored[name])
            row = {"value": new, "updated_by": actor, "updated_at": now, "reason": reason}
            if new is None:
                if name in before:
                    await connection.execute(delete(flags).where(flags.c.name == name))
            elif name in before:
                await connection.execute(update(flags).where(flags.c.name == name).values(row))
            else:
                await connection.execute(insert(flags).values(name=name, **row))
            audit.append(
                {
                    "name": name,
                    "old_value": before.get(name),
                    "new_value": new,
                    "actor": actor,
                    "reason": reason,
                    "changed_at": now,
                    "request_id": request_id,
                }
            )
        await connection.execute(insert(self._tables.changes), audit)

    async def history(self, page: int, page_size: int) -> tuple[list[FlagChangeView], int]:
        """One page of the audit trail, newest first, and how many changes there are."""
        changes = self._tables.changes
        async with self._reads.connect() as connection:
            total = await connection.scalar(select(func.count()).select_from(changes))
            rows = (
                await connection.execute(
                    select(changes)
                    .order_by(changes.c.id.desc())
                    .limit(page_size)
                    .offset((page - 1) * page_size)
                )
            ).all()
        return [_change_view(row) for row in rows], int(total or 0)


def _change_view(row: Row[Any]) -> FlagChangeView:
    return FlagChangeView(
        name=row.name,
        old_value=_decode(row.old_value),
        new_value=_decode(row.new_value),
        actor=row.actor,
        reason=row.reason,
        changed_at=row.changed_at,
        request_id=row.request_id,
    )
