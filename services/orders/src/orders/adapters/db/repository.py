"""SQLAlchemy implementation of ``OrderRepositoryPort`` (PostgreSQL and SQLite)."""

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Select, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError

from orders.adapters.db.mapping import item_rows, order_row, to_order
from orders.adapters.db.tables import order_items, orders
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

    async def get_by_id(self, order_id: UUID) -> Order | None:
        return await self._one(_BY_ID, {"id": order_id})

    async def get_with_items(self, order_id: UUID, *, for_update: bool = False) -> Order | None:
        return await self._one(_BY_ID_LOCKED if for_update else _BY_ID, {"id": order_id})

    async def get_by_idempotency_key(self, user_id: str, idempotency_key: str) -> Order | None:
        return await self._one(_BY_KEY, {"user_id": user_id, "key": idempotency_key})

    async def list_ids_by_status(
        self, status: OrderStatus, *, created_before: datetime, limit: int
    ) -> list[UUID]:
        rows = await self._sql.rows(
            select(orders.c.id)
            .where(orders.c.status == status.value, orders.c.created_at < created_before)
            .order_by(orders.c.created_at)
            .limit(limit)
        )
        return [row["id"] for row in rows]

    async def save(self, order: Order) -> None:
        self.seen[order.id] = order
        if order.version == 0:
            await self._insert(order)
            return
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
