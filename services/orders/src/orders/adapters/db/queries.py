"""Read-side query handlers: SQL straight to view DTOs, on the read database."""

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    func,
    select,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from orders.adapters.db.keyset import BOUNDED_COUNTS, KEYSET_PAGES, NEWEST_FIRST
from orders.adapters.db.tables import order_items, orders
from orders.application.queries import GetOrder, GetOrderSummary, ListUserOrders
from orders.application.views import (
    OrderItemView,
    OrderListItem,
    OrderSummaryView,
    OrderView,
)
from orders.domain.errors import MixedCurrencies
from orders.domain.status import OrderStatus
from servicekit.sql import Sql
from shop_contracts.limits import MAX_DATE
from shop_contracts.money import from_minor, line_total
from shop_contracts.pagination import (
    CURSOR_TOTAL_LIMIT,
    CursorPage,
    Keyset,
    encode_cursor,
)

_NOT_SPENT = (OrderStatus.CANCELLED.value, OrderStatus.FAILED.value)

# Each row's item count inside the page's statement: one statement, not one per row.
_ITEM_COUNT = (
    select(func.count())
    .where(order_items.c.order_id == orders.c.id)
    .correlate(orders)
    .scalar_subquery()
)


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def order_view_of(row: Any, items: Sequence[Any]) -> OrderView:
    """The view of one ``orders`` row and its ``order_items`` rows (in line order)."""
    return OrderView(
        id=row["id"],
        user_id=row["user_id"],
        status=OrderStatus(row["status"]),
        currency=row["currency"],
        total=from_minor(row["total_minor"]),
        items=[
            OrderItemView(
                product_id=item["product_id"],
                product_name=item["product_name"],
                quantity=item["quantity"],
                unit_price=from_minor(item["unit_price_minor"]),
                line_total=line_total(from_minor(item["unit_price_minor"]), item["quantity"]),
            )
            for item in items
        ],
        payment_id=row["payment_id"],
        cancel_reason=row["cancel_reason"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class SqlOrderQueries:
    """Implements ``OrderQueries`` with SQLAlchemy Core; the engines may point at a replica.

    ``autocommit`` (optional) serves reads that need no common snapshot and so
    no transaction: an order and its items (items are written once, with the
    order, and never change), and a list page by cursor, which is one statement
    (ADR 0023). A list by page number (count, then page) and the summary keep a
    transaction.
    """

    def __init__(self, engine: AsyncEngine, autocommit: AsyncEngine | None = None) -> None:
        self._engine = engine
        self._autocommit = autocommit or engine

    async def get_order(self, query: GetOrder) -> OrderView | None:
        async with self._autocommit.connect() as conn:
            row = (
                (await conn.execute(select(orders).where(orders.c.id == query.order_id)))
                .mappings()
                .first()
            )
            if row is None:
                return None
            items = (
                (
                    await conn.execute(
                        select(order_items)
                        .where(order_items.c.order_id == query.order_id)
                        .order_by(order_items.c.line_no)
                    )
                )
                .mappings()
                .all()
            )
        return order_view_of(row, items)

    async def list_user_orders(self, query: ListUserOrders) -> CursorPage[OrderListItem]:
        if query.cursor_mode:
            return await self._keyset_page(query)
        conditions: list[ColumnElement[bool]] = [orders.c.user_id == query.user_id]
        if query.status is not None:
            conditions.append(orders.c.status == query.status.value)
        async with self._engine.connect() as conn:
            total = (
                await conn.execute(select(func.count()).select_from(orders).where(*conditions))
            ).scalar_one()
            rows = (
                (
                    await conn.execute(
                        select(orders, _ITEM_COUNT.label("item_count"))
                        .where(*conditions)
                        .order_by(*NEWEST_FIRST)
                        .limit(query.page_size)
                        .offset((query.page - 1) * query.page_size)
                    )
                )
                .mappings()
                .all()
            )
        more = (query.page - 1) * query.page_size + len(rows) < total
        return CursorPage[OrderListItem](
            items=[self._list_item(row) for row in rows],
            total=total,
            page=query.page,
            page_size=query.page_size,
            # A page-number client may carry on by cursor from here.
            next_cursor=self._cursor_after(rows[-1], query.page) if rows and more else None,
        )

    async def _keyset_page(self, query: ListUserOrders) -> CursorPage[OrderListItem]:
        """One statement, no transaction: the page, one row more (is there a next page?), the count."""
        by_status = query.status is not None
        params: dict[str, Any] = {"user_id": query.user_id, "limit": query.page_size + 1}
        if query.status is not None:
            params["status"] = query.status.value
        if query.after is not None:
            params["after_created_at"] = query.after.created_at
            params["after_id"] = query.after.id
        async with Sql(self._autocommit) as sql:
            rows = await sql.rows(KEYSET_PAGES[by_status, query.after is not None], params)
            if rows:
                counted = int(rows[0]["counted"])
            else:
                # Past the last row (or none at all): the count has no row to ride on.
                count_params = {k: v for k, v in params.items() if k in ("user_id", "status")}
                first = await sql.first(BOUNDED_COUNTS[by_status], count_params)
                counted = int(first["counted"]) if first is not None else 0
        page = query.after.page if query.after is not None else 1
        shown = rows[: query.page_size]
        return CursorPage[OrderListItem](
            items=[self._list_item(row) for row in shown],
            total=min(counted, CURSOR_TOTAL_LIMIT),
            total_exact=counted <= CURSOR_TOTAL_LIMIT,
            page=page,
            page_size=query.page_size,
            next_cursor=self._cursor_after(shown[-1], page)
            if len(rows) > query.page_size
            else None,
        )

    @staticmethod
    def _cursor_after(row: Any, page: int) -> str:
        return encode_cursor(Keyset(row["created_at"], row["id"], page + 1))

    async def order_summary(self, query: GetOrderSummary) -> OrderSummaryView:
        conditions: list[ColumnElement[bool]] = [
            orders.c.user_id == query.user_id,
            orders.c.status.not_in(_NOT_SPENT),
        ]
        if query.start_date is not None:
            conditions.append(orders.c.created_at >= _day_start(query.start_date))
        if query.end_date is not None and query.end_date < MAX_DATE:
            # Inclusive end day: everything before the next midnight (the last
            # representable day has no next one, and bounds nothing).
            conditions.append(orders.c.created_at < _day_start(query.end_date + timedelta(days=1)))
        if query.currency is not None:
            conditions.append(orders.c.currency == query.currency)
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(
                        orders.c.currency,
                        func.count(),
                        func.sum(orders.c.total_minor),
                        func.avg(orders.c.total_minor),
                    )
                    .where(*conditions)
                    .group_by(orders.c.currency)
                )
            ).all()
        if len(rows) > 1:
            currencies = sorted(str(row[0]) for row in rows)
            raise MixedCurrencies(
                currencies,
                f"The orders are in {', '.join(currencies)}; "
                "ask for one with the currency parameter",
            )
        if not rows:
            return OrderSummaryView(
                total_orders=0,
                total_spent=Decimal("0.00"),
                avg_order_value=Decimal("0.00"),
                currency=query.currency,
            )
        currency, count, total, average = rows[0]
        return OrderSummaryView(
            total_orders=count,
            total_spent=from_minor(int(total)),
            # SQLite answers AVG as a float, PostgreSQL as numeric; str() keeps either exact enough.
            avg_order_value=from_minor(Decimal(str(average))),
            currency=currency,
        )

    @staticmethod
    def _list_item(row: Any) -> OrderListItem:
        return OrderListItem(
            id=row["id"],
            status=OrderStatus(row["status"]),
            currency=row["currency"],
            total=from_minor(row["total_minor"]),
            item_count=row["item_count"],
            created_at=row["created_at"],
        )
