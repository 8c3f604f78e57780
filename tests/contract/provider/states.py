"""The products provider's state handler: puts the database into each state the pact names.

Products and reservations the pact refers to by id are written directly (their
ids are fixed in the pact); a reservation made "earlier with a key" goes
through the real API so its request hash is the provider's own. Every handler
is idempotent and touches only the rows it names, so states combine in any
order and repeated verifications start from the same place.
"""

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from products.adapters.db.tables import products, reservation_lines, reservations
from servicekit.db import create_engine
from shop_contracts import paths
from shop_contracts.reservations import ReservationStatus
from tests.contract import states
from tests.contract.provider.server import LoopThread

_PRICE_MINOR = 1250
_DEFAULT_STOCK = 10


class UnknownProviderState(LookupError):
    """The pact names a state this handler cannot set up."""


class ProviderStates:
    """Sets up every provider state in ``tests.contract.states`` on one products database."""

    def __init__(self, database_url: str, service_token: str) -> None:
        self._loop = LoopThread()
        self._engine: AsyncEngine = self._loop.run(_engine(database_url))
        self._service_token = service_token
        self.provider_url = ""
        self._handlers: Mapping[str, Callable[[dict[str, Any]], None]] = {
            states.PRODUCT_EXISTS: self._product_exists,
            states.PRODUCT_DOES_NOT_EXIST: self._product_does_not_exist,
            states.NO_RESERVATION_WITH_KEY: self._no_reservation_with_key,
            states.RESERVATION_MADE: self._reservation_made,
            states.RESERVATION_HELD: self._reservation(ReservationStatus.HELD, 600),
            states.RESERVATION_LAPSED: self._reservation(ReservationStatus.HELD, -60),
            states.RESERVATION_RELEASED: self._reservation(ReservationStatus.RELEASED, 600),
            states.RESERVATION_DOES_NOT_EXIST: self._reservation_does_not_exist,
        }

    @property
    def names(self) -> frozenset[str]:
        """Every state this handler sets up."""
        return frozenset(self._handlers)

    def handle(self, state: str, action: str, parameters: dict[str, Any] | None) -> None:
        """The verifier's callback (setup only; each state is idempotent)."""
        if action != "setup" or state == "":
            return
        handler = self._handlers.get(state)
        if handler is None:
            raise UnknownProviderState(state)
        handler(parameters or {})

    def close(self) -> None:
        """Dispose of the engine and stop the loop."""
        self._loop.run(self._engine.dispose())
        self._loop.close()

    def _write(self, work: Callable[[AsyncConnection], Any]) -> None:
        async def run() -> None:
            async with self._engine.begin() as conn:
                await work(conn)

        self._loop.run(run())

    def _product_exists(self, params: dict[str, Any]) -> None:
        product_id, stock = UUID(params["id"]), int(params.get("stock", _DEFAULT_STOCK))
        self._write(lambda conn: _put_product(conn, product_id, stock))

    def _product_does_not_exist(self, params: dict[str, Any]) -> None:
        product_id = UUID(params["id"])

        async def work(conn: AsyncConnection) -> None:
            await conn.execute(
                delete(reservation_lines).where(reservation_lines.c.product_id == product_id)
            )
            await conn.execute(delete(products).where(products.c.id == product_id))

        self._write(work)

    def _no_reservation_with_key(self, params: dict[str, Any]) -> None:
        key = str(params["key"])
        self._write(lambda conn: _delete_reservations(conn, key=key))

    def _reservation_does_not_exist(self, params: dict[str, Any]) -> None:
        reservation_id = UUID(params["id"])
        self._write(lambda conn: _delete_reservations(conn, reservation_id=reservation_id))

    def _reservation_made(self, params: dict[str, Any]) -> None:
        key, product_id = str(params["key"]), UUID(params["product_id"])
        quantity = int(params["quantity"])

        async def work(conn: AsyncConnection) -> None:
            await _delete_reservations(conn, key=key)
            await _put_product(conn, product_id, max(quantity, _DEFAULT_STOCK))

        self._write(work)
        response = httpx.post(
            self.provider_url + paths.API_PREFIX + paths.RESERVATIONS,
            json={
                "reservation_key": key,
                "lines": [{"product_id": str(product_id), "quantity": quantity}],
            },
            headers={"Authorization": f"Bearer {self._service_token}"},
            timeout=10,
        )
        if response.status_code != 201:
            raise RuntimeError(f"could not make the reservation: {response.text}")

    def _reservation(
        self, status: ReservationStatus, expires_in_seconds: int
    ) -> Callable[[dict[str, Any]], None]:
        def handler(params: dict[str, Any]) -> None:
            reservation_id, product_id = UUID(params["id"]), UUID(params["product_id"])
            quantity = int(params["quantity"])

            async def work(conn: AsyncConnection) -> None:
                await _delete_reservations(conn, reservation_id=reservation_id)
                await _put_product(conn, product_id, _DEFAULT_STOCK)
                now = datetime.now(UTC)
                await conn.execute(
                    insert(reservations).values(
                        id=reservation_id,
                        reservation_key=f"pact-{reservation_id}",
                        request_hash="0" * 64,
                        status=status.value,
                        expires_at=now + timedelta(seconds=expires_in_seconds),
                        created_at=now - timedelta(minutes=5),
                        updated_at=now,
                    )
                )
                name = await conn.scalar(select(products.c.name).where(products.c.id == product_id))
                await conn.execute(
                    insert(reservation_lines).values(
                        reservation_id=reservation_id,
                        product_id=product_id,
                        quantity=quantity,
                        product_name=name,
                        unit_price_minor=_PRICE_MINOR,
                        currency="EUR",
                    )
                )

            self._write(work)

        return handler


async def _engine(database_url: str) -> AsyncEngine:
    return create_engine(database_url, pool_size=2, max_overflow=0)


async def _put_product(conn: AsyncConnection, product_id: UUID, stock: int) -> None:
    now = datetime.now(UTC)
    found = await conn.scalar(select(products.c.id).where(products.c.id == product_id))
    if found is not None:
        await conn.execute(
            update(products).where(products.c.id == product_id).values(stock=stock, updated_at=now)
        )
        return
    await conn.execute(
        insert(products).values(
            id=product_id,
            sku=f"PACT-{product_id.hex}",
            name=f"Pact product {product_id.hex[-6:]}",
            description="Set up by the contract tests",
            price_minor=_PRICE_MINOR,
            currency="EUR",
            stock=stock,
            created_at=now,
            updated_at=now,
        )
    )


async def _delete_reservations(
    conn: AsyncConnection, *, key: str | None = None, reservation_id: UUID | None = None
) -> None:
    condition = (
        reservations.c.reservation_key == key
        if key is not None
        else reservations.c.id == reservation_id
    )
    ids = select(reservations.c.id).where(condition)
    await conn.execute(delete(reservation_lines).where(reservation_lines.c.reservation_id.in_(ids)))
    await conn.execute(delete(reservations).where(condition))
