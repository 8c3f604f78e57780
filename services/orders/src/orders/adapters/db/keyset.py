"""The cursor pages' statements, built once: rows after a keyset, and a count that stops early (ADR 0023)."""

from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    bindparam,
    func,
    literal_column,
    select,
    tuple_,
)

from orders.adapters.db.tables import order_items, orders
from shop_contracts.pagination import CURSOR_TOTAL_LIMIT, MAX_PAGE_SIZE

NEWEST_FIRST = (orders.c.created_at.desc(), orders.c.id.desc())


def _owned(*, by_status: bool) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [orders.c.user_id == bindparam("user_id")]
    if by_status:
        conditions.append(orders.c.status == bindparam("status"))
    return conditions


def _bounded_count(*, by_status: bool) -> Select[Any]:
    """How many of the user's orders there are, counting no further than the limit and one."""
    # Literal, not bound: even a generic plan then knows how few rows it reads.
    counted = (
        select(literal_column("1"))
        .where(*_owned(by_status=by_status))
        .limit(literal_column(str(CURSOR_TOTAL_LIMIT + 1), Integer))
    ).subquery()
    return select(func.count().label("counted")).select_from(counted)


def _keyset_page(*, by_status: bool, after: bool) -> Select[Any]:
    """The rows of one cursor page (and one more) with the bounded count beside each."""
    conditions = _owned(by_status=by_status)
    if after:
        # A row comparison, so that PostgreSQL starts the index scan at the cursor
        # (an OR of the two columns would scan from the newest row every time).
        conditions.append(
            tuple_(orders.c.created_at, orders.c.id)
            < tuple_(
                bindparam("after_created_at", type_=orders.c.created_at.type),
                bindparam("after_id", type_=orders.c.id.type),
            )
        )
    # The rows in a sub-select capped by a literal at the largest page and one: the
    # cap changes no answer (the bound limit is never more) but keeps the statement on
    # its generic plan (ADR 0023). asyncpg prepares it once per connection; after five
    # runs PostgreSQL keeps a generic plan only if it costs no more than one planned
    # for the values, and it costs a bound LIMIT as a tenth of the rows: without the
    # cap a tenth of an average user's history. Past a few hundred orders a user, every
    # page was planned afresh (0.1 ms, as long as the page takes to run).
    rows = (
        select(
            orders.c.id,
            orders.c.status,
            orders.c.currency,
            orders.c.total_minor,
            orders.c.created_at,
        )
        .where(*conditions)
        .order_by(*NEWEST_FIRST)
        .limit(literal_column(str(MAX_PAGE_SIZE + 1), Integer))
    ).subquery("page")
    item_count = select(func.count()).where(order_items.c.order_id == rows.c.id).scalar_subquery()
    return (
        select(
            rows.c.id,
            rows.c.status,
            rows.c.currency,
            rows.c.total_minor,
            rows.c.created_at,
            item_count.label("item_count"),
            _bounded_count(by_status=by_status).scalar_subquery().label("counted"),
        )
        .order_by(rows.c.created_at.desc(), rows.c.id.desc())
        .limit(bindparam("limit"))
    )


# Built once (servicekit.sql compiles each statement once): by status filter and
# whether the walk has begun.
KEYSET_PAGES = {
    (by_status, after): _keyset_page(by_status=by_status, after=after)
    for by_status in (False, True)
    for after in (False, True)
}
BOUNDED_COUNTS = {by_status: _bounded_count(by_status=by_status) for by_status in (False, True)}
