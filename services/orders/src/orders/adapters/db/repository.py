"""SQLAlchemy implementation of ``OrderRepositoryPort`` (PostgreSQL and SQLite)."""

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Select, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError

from orders.adapters.db.mapping import item_rows, order_row, to_order
from orders.adapters.db.tables import order_items, orders
from orders.adapters.outbox.writer import OUTBOX_COLUMNS
from orders.domain.errors import ConcurrentModification, DuplicateOrder
from orders.domain.order import Order
from orders.domain.status import OrderStatus
from servicekit.sql import Row, Sql

# Statements are built once: building one per call (and its cache key) costs more
# CPU than executing it, and servicekit.sql compiles each once (ADR 0011, ADR 0022).
_BY_ID = select(orders).where(orders.c.id == bindparam("id"))
_BY_ID_LOCKED = _BY_ID.with_for_update()  # dropped on SQLite, where BEGIN IMMEDIATE serialises
_BY_KEY = select(orders).where(
    orders.c.user_id == bindparam("user_id"), orders.c.idempotency_key == bindparam("key")
)
_ITEMS = select(order_items).where(order_items.c.order_id.in_(bindparam("ids", expanding=True)))
# ON CONFLICT on the idempotency key instead of a savepoint around a plain insert:
# the same answer for a twin that committed first (on PostgreSQL the insert waits
# for it), two round trips fewer per order. It compiles for SQLite as well.
_CLAIM = (
    postgresql.insert(orders)
    .values({column.name: bindparam(column.name) for column in orders.c})
    .on_conflict_do_nothing(index_elements=[orders.c.user_id, orders.c.idempotency_key])
    .returning(orders.c.id)
)
# PostgreSQL: a whole write of one order (the row, its items, its outbox events) as
# one statement, atomic on its own: no BEGIN / COMMIT round trips (ADR 0022). The
# events are written only if the order's row is (the CTEs select FROM it); their
# arrays follow OUTBOX_COLUMNS.
_INSERT_ALONE = """
WITH written AS (
    INSERT INTO orders (id, user_id, customer_email, idempotency_key, request_hash,
                        reservation_id, status, currency, total_minor, payment_id,
                        cancel_reason, version, created_at, updated_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, $12, $13)
    ON CONFLICT (user_id, idempotency_key) DO NOTHING
    RETURNING id
), items AS (
    INSERT INTO order_items (order_id, line_no, product_id, product_name, quantity,
                             unit_price_minor, currency)
    SELECT written.id, i.* FROM written, unnest($14::int[], $15::uuid[], $16::varchar[],
        $17::int[], $18::bigint[], $19::varchar[]) AS i
), events AS (
    INSERT INTO outbox (id, event_type, payload, status, attempts, completed_handlers,
                        created_at, next_attempt_at, trace_context, request_id)
    SELECT e.* FROM written, unnest($20::uuid[], $21::varchar[], $22::text[], $23::varchar[],
        $24::int[], $25::text[], $26::timestamptz[], $27::timestamptz[], $28::varchar[],
        $29::varchar[]) AS e
)
SELECT id FROM written
"""
_UPDATE_ALONE = """
WITH written AS (
    UPDATE orders SET status = $1, payment_id = $2, cancel_reason = $3, updated_at = $4,
                      version = $5
    WHERE id = $6 AND version = $7
    RETURNING id
), events AS (
    INSERT INTO outbox (id, event_type, payload, status, attempts, completed_handlers,
                        created_at, next_attempt_at, trace_context, request_id)
    SELECT e.* FROM written, unnest($8::uuid[], $9::varchar[], $10::text[], $11::varchar[],
        $12::int[], $13::text[], $14::timestamptz[], $15::timestamptz[], $16::varchar[],
        $17::varchar[]) AS e
)
SELECT id FROM written
"""
_ORDER_COLUMNS = (
    "id", "user_id", "customer_email", "idempotency_key", "request_hash", "reservation_id",
    "status", "currency", "total_minor", "payment_id", "cancel_reason", "created_at",
    "updated_at",
)  # fmt: skip
_ITEM_COLUMNS = (
    "line_no", "product_id", "product_name", "quantity", "unit_price_minor", "currency"
)  # fmt: skip


def _columns(rows: list[dict[str, Any]], names: tuple[str, ...]) -> list[list[Any]]:
    return [[row[name] for row in rows] for name in names]


_INSERT_ITEMS = insert(order_items).values(
    {column.name: bindparam(column.name) for column in order_items.c}
)
# What a placed order's lifecycle changes; the rest of the row is written once.
_SAVE = (
    update(orders)
    .where(orders.c.id == bindparam("order_id"), orders.c.version == bindparam("expected_version"))
    .values(
        status=bindparam("new_status"),
        payment_id=bindparam("new_payment_id"),
        cancel_reason=bindparam("new_cancel_reason"),
        updated_at=bindparam("new_updated_at"),
        version=bindparam("new_version"),
    )
)


class SqlAlchemyOrderRepository:
    """Orders in the service's own database; remembers what it loaded for the outbox."""

    def __init__(self, sql: Sql) -> None:
        self._sql = sql
        self.seen: dict[UUID, Order] = {}
        # Saved orders are written when the unit of work commits (or before a read),
        # so a unit of work whose only write is one order can send it as one statement.
        self._unwritten: list[Order] = []

    async def get_by_id(self, order_id: UUID) -> Order | None:
        return await self._one(_BY_ID, {"id": order_id})

    async def get_with_items(self, order_id: UUID, *, for_update: bool = False) -> Order | None:
        return await self._one(_BY_ID_LOCKED if for_update else _BY_ID, {"id": order_id})

    async def get_by_idempotency_key(self, user_id: str, idempotency_key: str) -> Order | None:
        return await self._one(_BY_KEY, {"user_id": user_id, "key": idempotency_key})

    async def list_ids_by_status(
        self, status: OrderStatus, *, created_before: datetime, limit: int
    ) -> list[UUID]:
        await self.flush()
        rows = await self._sql.rows(
            select(orders.c.id)
            .where(orders.c.status == status.value, orders.c.created_at < created_before)
            .order_by(orders.c.created_at)
            .limit(limit)
        )
        return [row["id"] for row in rows]

    async def save(self, order: Order) -> None:
        """Write the order when the unit of work commits: new, or version-checked."""
        self.seen[order.id] = order
        if order not in self._unwritten:
            self._unwritten.append(order)

    async def flush(self) -> None:
        """Write the saved orders now, in the unit of work's transaction."""
        while self._unwritten:
            order = self._unwritten.pop(0)
            if order.version == 0:
                await self._insert(order)
            else:
                await self._update(order)

    async def write_alone(self, events: list[dict[str, Any]]) -> bool:
        """Write the one saved order and its outbox rows as one statement, if that is possible.

        False (nothing written) unless this is PostgreSQL, nothing was sent in this
        unit of work yet, and exactly one order was saved; the caller then writes
        the usual way.
        """
        if len(self._unwritten) != 1 or not self._sql.alone_possible:
            return False
        order = self._unwritten.pop()
        event_columns = _columns(events, OUTBOX_COLUMNS)
        if order.version == 0:
            row = order_row(order)
            items = _columns(item_rows(order), _ITEM_COLUMNS)
            arguments = [row[name] for name in _ORDER_COLUMNS]
            written = await self._sql.first_alone(_INSERT_ALONE, *arguments, *items, *event_columns)
            if written is None:
                raise DuplicateOrder(f"order for key {order.idempotency_key!r} exists")
            order.version = 1
            return True
        written = await self._sql.first_alone(
            _UPDATE_ALONE,
            order.status.value,
            order.payment_id,
            order.cancel_reason,
            order.updated_at,
            order.version + 1,
            order.id,
            order.version,
            *event_columns,
        )
        if written is None:
            raise ConcurrentModification(f"order {order.id} changed since it was loaded")
        order.version += 1
        return True

    async def _update(self, order: Order) -> None:
        changed = await self._sql.execute(
            _SAVE,
            {
                "order_id": order.id,
                "expected_version": order.version,
                "new_version": order.version + 1,
                "new_status": order.status.value,
                "new_payment_id": order.payment_id,
                "new_cancel_reason": order.cancel_reason,
                "new_updated_at": order.updated_at,
            },
        )
        if changed != 1:
            raise ConcurrentModification(f"order {order.id} changed since it was loaded")
        order.version += 1

    async def _insert(self, order: Order) -> None:
        duplicate = DuplicateOrder(f"order for key {order.idempotency_key!r} exists")
        try:
            claimed = await self._sql.first(_CLAIM, {**order_row(order), "version": 1})
        except IntegrityError as exc:
            raise duplicate from exc
        if claimed is None:
            raise duplicate
        await self._sql.execute_many(_INSERT_ITEMS, item_rows(order))
        order.version = 1

    async def _one(self, stmt: Select[Any], parameters: dict[str, Any]) -> Order | None:
        await self.flush()  # read what this unit of work saved
        row = await self._sql.first(stmt, parameters)
        if row is None:
            return None
        return (await self._hydrate([row]))[0]

    async def _hydrate(self, rows: list[Row]) -> list[Order]:
        if not rows:
            return []
        items = await self._sql.rows(_ITEMS, {"ids": [row["id"] for row in rows]})
        by_order: dict[UUID, list[Any]] = {}
        for item in items:
            by_order.setdefault(item["order_id"], []).append(item)
        loaded = [to_order(row, by_order.get(row["id"], [])) for row in rows]
        for order in loaded:
            self.seen[order.id] = order
        return loaded
