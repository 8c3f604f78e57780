"""``orders doctor``: stored orders a read cannot serve or today's limits refuse (ADR 0014)."""

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from orders.adapters.db.queries import order_view_of
from orders.adapters.db.tables import order_items, orders
from shop_contracts.limits import MAX_LINE_QUANTITY, MAX_ORDER_TOTAL, MAX_RESERVATION_LINES
from shop_contracts.money import from_minor, line_total, to_minor

_BATCH = 500
_MAX_TOTAL_MINOR = to_minor(MAX_ORDER_TOTAL)


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem with one stored order."""

    order_id: UUID
    user_id: str
    problem: str

    def __str__(self) -> str:
        return f"order {self.order_id} (user {self.user_id!r}): {self.problem}"


def _limit_problems(row: Any, items: Sequence[Any]) -> list[str]:
    problems = []
    if row["total_minor"] > _MAX_TOTAL_MINOR:
        problems.append(f"total passes the order total limit of {MAX_ORDER_TOTAL}")
    lines = (line_total(from_minor(item["unit_price_minor"]), item["quantity"]) for item in items)
    if sum(lines, Decimal(0)) != from_minor(row["total_minor"]):
        problems.append("total differs from the sum of its lines")
    if not 1 <= len(items) <= MAX_RESERVATION_LINES:
        problems.append(f"{len(items)} lines (1..{MAX_RESERVATION_LINES} allowed)")
    if any(not 1 <= item["quantity"] <= MAX_LINE_QUANTITY for item in items):
        problems.append(f"a line quantity outside 1..{MAX_LINE_QUANTITY}")
    if any(item["currency"] != row["currency"] for item in items):
        problems.append("a line in another currency than the order")
    return problems


async def _orders_with_items(
    connection: AsyncConnection,
) -> AsyncIterator[tuple[Any, list[Any]]]:
    after: UUID | None = None
    while True:
        query = select(orders).order_by(orders.c.id).limit(_BATCH)
        if after is not None:
            query = query.where(orders.c.id > after)
        rows = (await connection.execute(query)).mappings().all()
        if not rows:
            return
        ids = [row["id"] for row in rows]
        lines: dict[UUID, list[Any]] = {order_id: [] for order_id in ids}
        item_rows = await connection.execute(
            select(order_items)
            .where(order_items.c.order_id.in_(ids))
            .order_by(order_items.c.order_id, order_items.c.line_no)
        )
        for item in item_rows.mappings():
            lines[item["order_id"]].append(item)
        for row in rows:
            yield row, lines[row["id"]]
        after = ids[-1]


async def examine(connection: AsyncConnection) -> list[Finding]:
    """Every finding over every stored order, in order id order (read-only)."""
    findings: list[Finding] = []
    async for row, items in _orders_with_items(connection):
        problems = _limit_problems(row, items)
        try:
            order_view_of(row, items)
        except ValidationError as exc:
            fields = "; ".join(
                f"{'.'.join(map(str, error['loc']))}: {error['msg']}" for error in exc.errors()
            )
            problems.append(f"a read cannot serve it ({fields})")
        except ValueError as exc:  # e.g. a status no code knows
            problems.append(f"a read cannot serve it ({exc})")
        findings += [Finding(row["id"], row["user_id"], problem) for problem in problems]
    return findings
