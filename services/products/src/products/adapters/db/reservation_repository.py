"""Reservations in SQL. Status changes are conditional UPDATEs, so each happens once."""

import logging
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Select, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError

from products.adapters.db.tables import reservation_lines, reservations
from products.domain.reservation import (
    HoldRequest,
    Reservation,
    ReservationLine,
    ReservationStatus,
)
from servicekit.sql import Row, Sql
from shop_contracts.money import Money

_LINE_COLUMNS = (
    reservation_lines.c.product_id,
    reservation_lines.c.quantity,
    reservation_lines.c.product_name,
    reservation_lines.c.unit_price_minor,
    reservation_lines.c.currency,
)


# The reservation and its lines in one round trip (lines never change once written),
# built once (ADR 0011).
_WITH_LINES = (
    select(reservations, *_LINE_COLUMNS)
    # Outer: a retired key (see Reservation.retires_key) is a reservation without lines.
    .outerjoin(reservation_lines, reservation_lines.c.reservation_id == reservations.c.id)
    .order_by(reservation_lines.c.product_id)
)
_BY_ID = _WITH_LINES.where(reservations.c.id == bindparam("id"))
_BY_KEY = _WITH_LINES.where(reservations.c.reservation_key == bindparam("key"))
# ON CONFLICT DO NOTHING on the unique key: on PostgreSQL a concurrent insert of the
# same key waits for the first to commit, then does nothing. Compiles for SQLite too.
_CLAIM = (
    postgresql.insert(reservations)
    .values({column.name: bindparam(column.name) for column in reservations.c})
    .on_conflict_do_nothing()
    .returning(reservations.c.id)
)
_INSERT_LINES = insert(reservation_lines).values(
    {column.name: bindparam(column.name) for column in reservation_lines.c}
)
_CHANGE = (
    update(reservations)
    .where(
        reservations.c.id == bindparam("reservation_id"),
        reservations.c.status.in_(bindparam("from_statuses", expanding=True)),
    )
    .values(status=bindparam("to_status"), updated_at=bindparam("now"))
    .returning(reservations.c.id)
)
_CHANGE_BY_LAPSE = {
    None: _CHANGE,
    True: _CHANGE.where(reservations.c.expires_at <= bindparam("now")),
    False: _CHANGE.where(reservations.c.expires_at > bindparam("now")),
}
# PostgreSQL: held → confirmed and the confirmed hold with its lines, one statement.
_CONFIRM_ALONE = """
WITH confirmed AS (
    UPDATE reservations SET status = 'confirmed', updated_at = $2
    WHERE id = $1 AND status = 'held' AND expires_at > $2
    RETURNING *
)
SELECT confirmed.*, l.product_id, l.quantity, l.product_name, l.unit_price_minor, l.currency
FROM confirmed LEFT OUTER JOIN reservation_lines AS l ON l.reservation_id = confirmed.id
ORDER BY l.product_id
"""
# PostgreSQL: a whole hold in one statement, one round trip instead of seven (ADR 0028).
# The products are locked in id order (as the step-by-step path takes them), checked
# on their locked rows (all found, stock for every line, one currency, the total within
# the limit), and only then is the key claimed; the stock and the lines follow the claim,
# so a taken key or a refusal writes nothing. The new stock is computed from the locked
# row, not from the statement's snapshot, which is older when the lock was waited for
# (a release committing meanwhile). The outer SELECT's guard divides by zero, failing
# the statement and so undoing all of it, if the writes ever disagreed. Its rows are
# those of a read by id (the reservation joined with its lines); none if nothing was held.
_HOLD_ALONE = """
WITH wanted AS (
    SELECT * FROM unnest($1::uuid[], $2::int[]) AS w(product_id, quantity)
),
locked AS MATERIALIZED (
    SELECT id, name, price_minor, currency, stock FROM products
    WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE
),
fits AS (
    SELECT count(*) = cardinality($1::uuid[])
        AND bool_and(l.stock >= w.quantity)
        AND count(DISTINCT l.currency) = 1
        AND sum(l.price_minor::numeric * w.quantity) <= $3 AS ok
    FROM wanted AS w JOIN locked AS l ON l.id = w.product_id
),
claim AS (
    INSERT INTO reservations
        (id, reservation_key, request_hash, status, expires_at, created_at, updated_at)
    SELECT $4, $5, $6, 'held', $7, $8, $8 FROM fits WHERE fits.ok
    ON CONFLICT (reservation_key) DO NOTHING
    RETURNING *
),
taken AS (
    UPDATE products SET stock = l.stock - w.quantity
    FROM wanted AS w JOIN locked AS l ON l.id = w.product_id, claim
    WHERE products.id = w.product_id
    RETURNING products.id
),
written AS (
    INSERT INTO reservation_lines
        (reservation_id, product_id, quantity, product_name, unit_price_minor, currency)
    SELECT claim.id, l.id, w.quantity, l.name, l.price_minor, l.currency
    FROM claim, wanted AS w JOIN locked AS l ON l.id = w.product_id
    RETURNING product_id
)
SELECT claim.*, l.id AS product_id, w.quantity, l.name AS product_name,
    l.price_minor AS unit_price_minor, l.currency,
    1 / ((SELECT count(*) FROM taken) = (SELECT count(*) FROM written))::int AS consistent
FROM claim, wanted AS w JOIN locked AS l ON l.id = w.product_id
ORDER BY l.id
"""
_DIVISION_BY_ZERO = "22012"
logger = logging.getLogger(__name__)

_LAPSED = (
    select(reservations.c.id)
    .where(
        reservations.c.status == ReservationStatus.HELD.value,
        reservations.c.expires_at <= bindparam("now"),
    )
    .order_by(reservations.c.expires_at)
    .limit(bindparam("limit"))
)


def _to_line(row: Row) -> ReservationLine:
    return ReservationLine(
        product_id=row["product_id"],
        quantity=row["quantity"],
        product_name=row["product_name"],
        unit_price=Money.from_cents(row["unit_price_minor"], row["currency"]),
    )


def _reservation(rows: list[Row]) -> Reservation | None:
    """The reservation from its rows joined with its lines (none for a retired key)."""
    if not rows:
        return None
    row = rows[0]
    return Reservation(
        id=row["id"],
        key=row["reservation_key"],
        request_hash=row["request_hash"],
        status=ReservationStatus(row["status"]),
        expires_at=row["expires_at"],
        created_at=row["created_at"],
        lines=tuple(_to_line(line) for line in rows if line["product_id"] is not None),
    )


class SqlAlchemyReservationRepository:
    """``ReservationRepositoryPort`` over one SQLAlchemy connection."""

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    async def add_if_key_free(self, reservation: Reservation) -> bool:
        row = {
            "id": reservation.id,
            "reservation_key": reservation.key,
            "request_hash": reservation.request_hash,
            "status": reservation.status.value,
            "expires_at": reservation.expires_at,
            "created_at": reservation.created_at,
            "updated_at": reservation.created_at,
        }
        if await self._sql.first(_CLAIM, row) is None:
            return False
        if not reservation.lines:
            return True  # a retired key (see Reservation.retires_key)
        await self._sql.execute_many(
            _INSERT_LINES,
            [
                {
                    "reservation_id": reservation.id,
                    "product_id": line.product_id,
                    "quantity": line.quantity,
                    "product_name": line.product_name,
                    "unit_price_minor": line.unit_price.cents,
                    "currency": line.unit_price.currency,
                }
                for line in reservation.lines
            ],
        )
        return True

    async def hold_alone(self, request: HoldRequest, max_total_minor: int) -> Reservation | None:
        if not self._sql.alone_possible:
            return None
        try:
            rows = await self._sql.rows_alone(
                _HOLD_ALONE,
                [line.product_id for line in request.lines],
                [line.quantity for line in request.lines],
                max_total_minor,
                request.id,
                request.key,
                request.request_hash,
                request.expires_at,
                request.created_at,
            )
        except DBAPIError as error:
            if getattr(error.orig, "sqlstate", None) != _DIVISION_BY_ZERO:
                raise
            # The guard undid the statement: the step-by-step path decides instead.
            logger.error("the one-statement hold disagreed with itself", exc_info=True)
            return None
        # The rows of a read by id (_reservation): none when nothing was held.
        return _reservation(rows)

    async def get(self, reservation_id: UUID) -> Reservation | None:
        return await self._one(_BY_ID, {"id": reservation_id})

    async def get_by_key(self, key: str) -> Reservation | None:
        return await self._one(_BY_KEY, {"key": key})

    async def confirm_if_held(self, reservation_id: UUID, now: datetime) -> Reservation | None:
        if self._sql.alone_possible:
            return _reservation(await self._sql.rows_alone(_CONFIRM_ALONE, reservation_id, now))
        held = frozenset({ReservationStatus.HELD})
        if not await self.change_status(
            reservation_id, held, ReservationStatus.CONFIRMED, now, lapsed=False
        ):
            return None
        return await self.get(reservation_id)

    async def _one(self, statement: Select[Any], parameters: dict[str, Any]) -> Reservation | None:
        return _reservation(await self._sql.rows(statement, parameters))

    async def change_status(
        self,
        reservation_id: UUID,
        from_statuses: frozenset[ReservationStatus],
        to_status: ReservationStatus,
        now: datetime,
        *,
        lapsed: bool | None = None,
    ) -> bool:
        params = {
            "reservation_id": reservation_id,
            "from_statuses": sorted(status.value for status in from_statuses),
            "to_status": to_status.value,
            "now": now,
        }
        return await self._sql.first(_CHANGE_BY_LAPSE[lapsed], params) is not None

    async def lapsed_ids(self, now: datetime, limit: int) -> list[UUID]:
        rows = await self._sql.rows(_LAPSED, {"now": now, "limit": limit})
        return [row["id"] for row in rows]
