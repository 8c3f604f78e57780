"""Reservations in SQL. Status changes are conditional UPDATEs, so each happens once."""

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Select, bindparam, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from products.adapters.tables import reservation_lines, reservations
from products.domain.reservation import Reservation, ReservationLine, ReservationStatus
from servicekit.db import insert_or_ignore
from shop_contracts.money import from_minor, to_minor

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


def _to_line(row: Row[Any]) -> ReservationLine:
    return ReservationLine(
        product_id=row.product_id,
        quantity=row.quantity,
        product_name=row.product_name,
        unit_price=from_minor(row.unit_price_minor),
        currency=row.currency,
    )


class SqlReservationRepository:
    """``ReservationRepository`` over one SQLAlchemy connection."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add_if_key_free(self, reservation: Reservation) -> bool:
        # ON CONFLICT DO NOTHING on the unique key: on PostgreSQL a concurrent
        # insert of the same key waits for the first to commit, then does nothing.
        claim = (
            insert_or_ignore(self._connection, reservations)
            .values(
                id=reservation.id,
                reservation_key=reservation.key,
                request_hash=reservation.request_hash,
                status=reservation.status.value,
                expires_at=reservation.expires_at,
                created_at=reservation.created_at,
                updated_at=reservation.created_at,
            )
            .returning(reservations.c.id)
        )
        if (await self._connection.execute(claim)).first() is None:
            return False
        if not reservation.lines:
            return True  # a retired key (see Reservation.retires_key)
        await self._connection.execute(
            insert(reservation_lines),
            [
                {
                    "reservation_id": reservation.id,
                    "product_id": line.product_id,
                    "quantity": line.quantity,
                    "product_name": line.product_name,
                    "unit_price_minor": to_minor(line.unit_price),
                    "currency": line.currency,
                }
                for line in reservation.lines
            ],
        )
        return True

    async def get(self, reservation_id: UUID) -> Reservation | None:
        return await self._one(_BY_ID, {"id": reservation_id})

    async def get_by_key(self, key: str) -> Reservation | None:
        return await self._one(_BY_KEY, {"key": key})

    async def _one(self, statement: Select[Any], parameters: dict[str, Any]) -> Reservation | None:
        rows = (await self._connection.execute(statement, parameters)).all()
        if not rows:
            return None
        row = rows[0]
        return Reservation(
            id=row.id,
            key=row.reservation_key,
            request_hash=row.request_hash,
            status=ReservationStatus(row.status),
            expires_at=row.expires_at,
            created_at=row.created_at,
            lines=tuple(_to_line(line) for line in rows if line.product_id is not None),
        )

    async def change_status(
        self,
        reservation_id: UUID,
        from_statuses: frozenset[ReservationStatus],
        to_status: ReservationStatus,
        now: datetime,
        *,
        lapsed: bool | None = None,
    ) -> bool:
        statement = (
            update(reservations)
            .where(
                reservations.c.id == reservation_id,
                reservations.c.status.in_([s.value for s in from_statuses]),
            )
            .values(status=to_status.value, updated_at=now)
            .returning(reservations.c.id)
        )
        if lapsed is True:
            statement = statement.where(reservations.c.expires_at <= now)
        elif lapsed is False:
            statement = statement.where(reservations.c.expires_at > now)
        return (await self._connection.execute(statement)).first() is not None

    async def lapsed_ids(self, now: datetime, limit: int) -> list[UUID]:
        rows = await self._connection.execute(
            select(reservations.c.id)
            .where(
                reservations.c.status == ReservationStatus.HELD.value,
                reservations.c.expires_at <= now,
            )
            .order_by(reservations.c.expires_at)
            .limit(limit)
        )
        return list(rows.scalars())
