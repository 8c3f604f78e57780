"""Products in SQL. Stock moves by conditional UPDATE, never read-then-write."""

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.dialects import postgresql

from products.adapters.db.tables import products, reservation_lines, reservations
from products.domain.product import Product
from servicekit.sql import Row, Sql
from shop_contracts.limits import MAX_STOCK
from shop_contracts.money import Money


def _to_product(row: Row) -> Product:
    return Product(
        id=row["id"],
        sku=row["sku"],
        name=row["name"],
        description=row["description"],
        price=Money.from_cents(row["price_minor"], row["currency"]),
        stock_available=row["stock"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


# Hot statements are built once: building one per call (and its cache key) costs
# more CPU than executing it, and servicekit.sql compiles each once (ADR 0011, 0022).
_GET = select(products).where(products.c.id == bindparam("id"))
_GET_MANY = select(products).where(products.c.id.in_(bindparam("ids", expanding=True)))
_TAKE_STOCK = (
    update(products)
    .where(products.c.id == bindparam("product_id"), products.c.stock >= bindparam("quantity"))
    .values(stock=products.c.stock - bindparam("quantity"))
    .returning(products.c.id)
)
_PUT_BACK = (
    update(products)
    .where(products.c.id == bindparam("product_id"))
    .values(stock=products.c.stock + bindparam("quantity"))
)
_ADD = (
    postgresql.insert(products)  # ON CONFLICT DO NOTHING; compiles for SQLite too
    .values({column.name: bindparam(column.name) for column in products.c})
    .on_conflict_do_nothing()
    .returning(products.c.id)
)
_UPDATE = (
    update(products)
    .where(products.c.id == bindparam("product_id"))
    .values(
        name=bindparam("name"),
        description=bindparam("description"),
        price_minor=bindparam("price_minor"),
        currency=bindparam("currency"),
        updated_at=bindparam("updated_at"),
    )
)


class SqlAlchemyProductRepository:
    """``ProductRepositoryPort`` over one SQLAlchemy connection."""

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    async def get(self, product_id: UUID) -> Product | None:
        row = await self._sql.first(_GET, {"id": product_id})
        return None if row is None else _to_product(row)

    async def get_many(self, product_ids: Sequence[UUID]) -> dict[UUID, Product]:
        if not product_ids:
            return {}
        rows = await self._sql.rows(_GET_MANY, {"ids": list(set(product_ids))})
        return {row["id"]: _to_product(row) for row in rows}

    async def add(self, product: Product) -> bool:
        row = {
            "id": product.id,
            "sku": product.sku,
            "name": product.name,
            "description": product.description,
            "price_minor": product.price.cents,
            "currency": product.price.currency,
            "stock": product.stock_available,
            "created_at": product.created_at,
            "updated_at": product.updated_at,
        }
        return await self._sql.first(_ADD, row) is not None

    async def update(self, product: Product) -> None:
        await self._sql.execute(
            _UPDATE,
            {
                "product_id": product.id,
                "name": product.name,
                "description": product.description,
                "price_minor": product.price.cents,
                "currency": product.price.currency,
                "updated_at": product.updated_at,
            },
        )

    async def take_stock(self, product_id: UUID, quantity: int) -> bool:
        # One statement decides and decrements; PostgreSQL re-checks the WHERE
        # after waiting on a concurrent writer's row lock, so it can never oversell.
        taken = await self._sql.first(_TAKE_STOCK, {"product_id": product_id, "quantity": quantity})
        return taken is not None

    async def put_back_stock(self, product_id: UUID, quantity: int) -> None:
        await self._sql.execute(_PUT_BACK, {"product_id": product_id, "quantity": quantity})

    async def adjust_stock(self, product_id: UUID, delta: int, now: datetime) -> Product | None:
        # Units on hand are the available ones plus those held: releasing a hold
        # moves units back to available, so the limit bounds their sum, and no
        # later release can push the column past what it holds.
        held = (
            select(func.coalesce(func.sum(reservation_lines.c.quantity), 0))
            .select_from(reservation_lines.join(reservations))
            .where(
                reservation_lines.c.product_id == products.c.id,
                reservations.c.status == "held",
            )
            .scalar_subquery()
        )
        statement = (
            update(products)
            .where(
                products.c.id == product_id,
                products.c.stock + delta >= 0,
                products.c.stock + delta + held <= MAX_STOCK,
            )
            .values(stock=products.c.stock + delta, updated_at=now)
            .returning(*products.c)
        )
        row = await self._sql.first(statement)
        return None if row is None else _to_product(row)
