"""SQLAlchemy implementation of ``OrderRepositoryPort`` (PostgreSQL and SQLite)."""

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Select, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from orders.adapters.db.mapping import item_rows, order_row, to_order
from orders.adapters.db.tables import order_items, orders
from orders.domain.errors import ConcurrentModification, DuplicateOrder
from orders.domain.order import Order
from orders.domain.status import OrderStatus
from servicekit.db import insert_or_ignore

# Hot statements are built once: building one per call (and its cache key) costs
# more CPU than executing it (ADR 0011).
_BY_KEY = select(orders).where(
    orders.c.user_id == bindparam("user_id"), orders.c.idempotency_key == bindparam("key")
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

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection
        self.seen: dict[UUID, Order] = {}

    async def get_by_id(self, order_id: UUID) -> Order | None:
        return await self._one(select(orders).where(orders.c.id == order_id))

    async def get_with_items(self, order_id: UUID, *, for_update: bool = False) -> Order | None:
        stmt = select(orders).where(orders.c.id == order_id)
        if for_update:
            # Dropped on SQLite, where BEGIN IMMEDIATE already serialises writers.
            stmt = stmt.with_for_update()
        return await self._one(stmt)

    async def get_by_idempotency_key(self, user_id: str, idempotency_key: str) -> Order | None:
        return await self._one(_BY_KEY, {"user_id": user_id, "key": idempotency_key})

    async def list_ids_by_status(
        self, status: OrderStatus, *, created_before: datetime, limit: int
    ) -> list[UUID]:
        result = await self._connection.execute(
            select(orders.c.id)
            .where(orders.c.status == status.value, orders.c.created_at < created_before)
            .order_by(orders.c.created_at)
            .limit(limit)
        )
        return list(result.scalars())

    async def save(self, order: Order) -> None:
        self.seen[order.id] = order
        if order.version == 0:
            await self._insert(order)
            return
        result = await self._connection.execute(
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
        if result.rowcount != 1:
            raise ConcurrentModification(f"order {order.id} changed since it was loaded")
        order.version += 1

    async def _insert(self, order: Order) -> None:
        # ON CONFLICT on the idempotency key instead of a savepoint around a plain
        # insert: the same answer for a twin that committed first (on PostgreSQL the
        # insert waits for it), two round trips fewer per order.
        claim = (
            insert_or_ignore(
                self._connection,
                orders,
                index_elements=[orders.c.user_id, orders.c.idempotency_key],
            )
            .values(**order_row(order), version=1)
            .returning(orders.c.id)
        )
        duplicate = DuplicateOrder(f"order for key {order.idempotency_key!r} exists")
        try:
            claimed = (await self._connection.execute(claim)).first()
        except IntegrityError as exc:
            raise duplicate from exc
        if claimed is None:
            raise duplicate
        await self._connection.execute(insert(order_items), item_rows(order))
        order.version = 1

    async def _one(
        self, stmt: Select[Any], parameters: dict[str, Any] | None = None
    ) -> Order | None:
        row = (await self._connection.execute(stmt, parameters)).mappings().first()
        if row is None:
            return None
        return (await self._hydrate([row]))[0]

    async def _hydrate(self, rows: list[Any]) -> list[Order]:
        if not rows:
            return []
        ids = [row["id"] for row in rows]
        items = (
            await self._connection.execute(
                select(order_items).where(order_items.c.order_id.in_(ids))
            )
        ).mappings()
        by_order: dict[UUID, list[Any]] = {}
        for item in items:
            by_order.setdefault(item["order_id"], []).append(item)
        loaded = [to_order(row, by_order.get(row["id"], [])) for row in rows]
        for order in loaded:
            self.seen[order.id] = order
        return loaded
