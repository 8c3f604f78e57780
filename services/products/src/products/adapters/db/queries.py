"""Read-side query handlers: SQL straight to the contract views (ADR 0011, ADR 0026)."""

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import ColumnElement, bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from products.adapters.db.connection import ProductsSql
from products.adapters.db.tables import products, reservation_lines, reservations
from servicekit.sql import Row
from shop_contracts.money import from_minor
from shop_contracts.pagination import Page
from shop_contracts.products import Product, ProductLookup, StockCheck
from shop_contracts.reservations import Reservation, ReservationLine

# Hot statements are built once: building one per call (and its cache key) costs
# more CPU than executing it, and servicekit.sql compiles each once (ADR 0011, 0022).
_GET = select(products).where(products.c.id == bindparam("id"))
_GET_MANY = select(products).where(products.c.id.in_(bindparam("ids", expanding=True)))
_STOCK = select(products.c.id, products.c.stock).where(products.c.id == bindparam("id"))
# The reservation and its lines in one statement (lines never change once written);
# outer, because a retired key is a reservation without lines.
_RESERVATION = (
    select(
        reservations.c.id,
        reservations.c.reservation_key,
        reservations.c.status,
        reservations.c.expires_at,
        reservations.c.created_at,
        reservation_lines.c.product_id,
        reservation_lines.c.quantity,
        reservation_lines.c.product_name,
        reservation_lines.c.unit_price_minor,
        reservation_lines.c.currency,
    )
    .outerjoin(reservation_lines, reservation_lines.c.reservation_id == reservations.c.id)
    .where(reservations.c.id == bindparam("id"))
    .order_by(reservation_lines.c.product_id)
)


def _product(row: Row) -> Product:
    return Product(
        id=row["id"],
        sku=row["sku"],
        name=row["name"],
        description=row["description"],
        price=from_minor(row["price_minor"]),
        currency=row["currency"],
        stock_available=row["stock"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _matches(query: str | None) -> ColumnElement[bool] | None:
    if not query:
        return None
    # autoescape: a user's % or _ is a literal character, not a wildcard.
    return or_(
        products.c.name.icontains(query, autoescape=True),
        products.c.sku.icontains(query, autoescape=True),
    )


class SqlAlchemyProductQueries:
    """``ProductQueries`` with prebuilt Core statements on ``servicekit.sql``.

    ``autocommit`` serves the reads that are one statement, so no transaction:
    a product, a lookup, a stock check. A search (count, then page) and a
    reservation read keep a transaction on ``engine``.
    """

    def __init__(self, engine: AsyncEngine, autocommit: AsyncEngine) -> None:
        self._engine = engine
        self._autocommit = autocommit

    async def get_product(self, product_id: UUID) -> Product | None:
        async with ProductsSql(self._autocommit) as sql:
            row = await sql.first(_GET, {"id": product_id})
        return None if row is None else _product(row)

    async def search_products(self, query: str | None, page: int, page_size: int) -> Page[Product]:
        condition = _matches(query)
        rows_of_page = (
            select(products)
            .order_by(products.c.sku)
            .offset((page - 1) * page_size)
            .limit(page_size)
        )
        count = select(func.count().label("total")).select_from(products)
        if condition is not None:
            rows_of_page = rows_of_page.where(condition)
            count = count.where(condition)
        async with ProductsSql(self._engine) as sql:
            rows = await sql.rows(rows_of_page)
            counted = await sql.first(count)
        return Page[Product](
            items=[_product(row) for row in rows],
            total=0 if counted is None else int(counted["total"]),
            page=page,
            page_size=page_size,
        )

    async def lookup_products(self, product_ids: Sequence[UUID]) -> ProductLookup:
        ordered = list(dict.fromkeys(product_ids))
        found: dict[UUID, Product] = {}
        if ordered:
            async with ProductsSql(self._autocommit) as sql:
                rows = await sql.rows(_GET_MANY, {"ids": ordered})
            found = {row["id"]: _product(row) for row in rows}
        return ProductLookup(
            items=[found[pid] for pid in ordered if pid in found],
            missing=[pid for pid in ordered if pid not in found],
        )

    async def check_stock(self, product_id: UUID, quantity: int) -> StockCheck | None:
        async with ProductsSql(self._autocommit) as sql:
            row = await sql.first(_STOCK, {"id": product_id})
        if row is None:
            return None
        return StockCheck(
            product_id=row["id"],
            requested=quantity,
            stock_available=row["stock"],
            available=row["stock"] >= quantity,
        )

    async def get_reservation(self, reservation_id: UUID) -> Reservation | None:
        async with ProductsSql(self._engine) as sql:
            rows = await sql.rows(_RESERVATION, {"id": reservation_id})
        if not rows:
            return None
        first = rows[0]
        return Reservation(
            id=first["id"],
            key=first["reservation_key"],
            status=first["status"],
            expires_at=first["expires_at"],
            created_at=first["created_at"],
            lines=[
                ReservationLine(
                    product_id=row["product_id"],
                    quantity=row["quantity"],
                    product_name=row["product_name"],
                    unit_price=from_minor(row["unit_price_minor"]),
                    currency=row["currency"],
                )
                for row in rows
                if row["product_id"] is not None
            ],
        )
