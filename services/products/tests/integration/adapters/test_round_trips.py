"""Round trips per read on PostgreSQL, and recovery from connections the server killed.

No pre-ping and no ``BEGIN`` / ``ROLLBACK`` around single-statement reads
(ADR 0008): a lookup is one statement on the wire. A pooled connection the server
closed is replaced at checkout without a round trip (ADR 0019).
"""

import asyncio
from typing import Any
from uuid import uuid4

import asyncpg
import pytest
from sqlalchemy import event
from sqlalchemy.engine import make_url

from products.adapters.db import reservation_repository
from products.facade import ProductsFacade
from products.testing import Catalogue
from servicekit.testing import asyncpg_connect_args
from shop_contracts.errors import InsufficientStock
from shop_contracts.reservations import ReservationLineRequest


@pytest.fixture(autouse=True)
def _postgres_only(database_url: str) -> None:
    """The round trips and the server killing connections are PostgreSQL's."""
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only")


@pytest.fixture
def sent(facade: ProductsFacade) -> list[str]:
    """What goes to the server on the facade's connections.

    Statements come from SQLAlchemy (``before_cursor_execute``); transaction
    control and pings are plain ``Connection.execute`` / ``fetchrow`` calls,
    which asyncpg's query logger reports (after the call; see ``_settled``).
    """
    queries: list[str] = []

    def log(record: Any) -> None:
        queries.append(" ".join(record.query.split()))

    @event.listens_for(facade.engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.driver_connection.add_query_logger(log)

    @event.listens_for(facade.engine.sync_engine, "before_cursor_execute")
    def _on_statement(*args: Any) -> None:
        queries.append(" ".join(str(args[2]).split()))

    return queries


async def _settled() -> None:
    """Let asyncpg deliver the query-log records it scheduled."""
    for _ in range(3):
        await asyncio.sleep(0)


async def test_a_lookup_is_one_statement(
    facade: ProductsFacade, catalogue: Catalogue, sent: list[str]
) -> None:
    product = await catalogue.add(stock=3)
    await facade.lookup_products([product.id])  # warm: the connection exists
    await _settled()
    sent.clear()

    found = await facade.lookup_products([product.id, uuid4()])
    await facade.get_product(product.id)
    await facade.check_stock(product.id, 1)
    await _settled()

    assert [p.id for p in found.items] == [product.id]
    assert len(sent) == 3, sent
    assert all(query.startswith("SELECT products.") for query in sent), sent


async def _warm(facade: ProductsFacade, catalogue: Catalogue) -> None:
    """A first hold: the connection exists and asyncpg knows the array types."""
    product = await catalogue.add(stock=1)
    await facade.reserve(
        f"k-{uuid4()}", [ReservationLineRequest(product_id=product.id, quantity=1)]
    )
    await _settled()


async def test_a_reservation_is_one_statement(
    facade: ProductsFacade, catalogue: Catalogue, sent: list[str]
) -> None:
    first, second = await catalogue.add(stock=3), await catalogue.add(stock=3)
    await _warm(facade, catalogue)
    sent.clear()

    await facade.reserve(
        f"k-{uuid4()}",
        [
            ReservationLineRequest(product_id=first.id, quantity=1),
            ReservationLineRequest(product_id=second.id, quantity=2),
        ],
    )
    await _settled()

    # Claim, stock and lines in one statement, without BEGIN / COMMIT (ADR 0028).
    assert len(sent) == 1, sent
    assert sent[0].startswith("WITH wanted AS"), sent
    assert (await catalogue.stock(first), await catalogue.stock(second)) == (2, 1)


async def test_a_refused_reservation_is_decided_in_one_transaction(
    facade: ProductsFacade, catalogue: Catalogue, sent: list[str]
) -> None:
    plenty, short = await catalogue.add(stock=3), await catalogue.add(stock=1)
    await _warm(facade, catalogue)
    sent.clear()

    with pytest.raises(InsufficientStock):
        await facade.reserve(
            f"k-{uuid4()}",
            [
                ReservationLineRequest(product_id=plenty.id, quantity=1),
                ReservationLineRequest(product_id=short.id, quantity=2),
            ],
        )
    await _settled()

    # The one statement wrote nothing; the step-by-step path names the refusal.
    # (The query-log records of BEGIN / ROLLBACK arrive out of order with the statements.)
    assert sent[0].startswith("WITH wanted AS"), sent
    assert sum(query.startswith("BEGIN") for query in sent) == 1, sent
    assert not any(query.startswith("COMMIT") for query in sent), sent
    assert (await catalogue.stock(plenty), await catalogue.stock(short)) == (3, 1)


async def test_connections_the_server_closed_are_never_handed_to_a_request(
    facade: ProductsFacade, catalogue: Catalogue, database_url: str
) -> None:
    product = await catalogue.add(stock=3)
    # Several pooled connections, all of them about to be killed.
    await asyncio.gather(*(facade.get_product(product.id) for _ in range(4)))

    admin = await asyncpg.connect(**asyncpg_connect_args(make_url(database_url)))
    try:
        killed = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await admin.close()
    assert killed >= 1
    # pg_terminate_backend only signals; the backends close their sockets a moment
    # later. Once the client has seen a socket closed, checkout never hands it out
    # (servicekit.db.refuse_closed_connections), at no round trip.
    await asyncio.sleep(0.2)

    for _ in range(6):
        assert (await facade.get_product(product.id)).id == product.id


async def test_a_hold_that_waited_on_a_restock_takes_the_stock_the_lock_shows(
    facade: ProductsFacade,
    catalogue: Catalogue,
    database_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The statement's snapshot predates the restock it waited for; the stock it
    # takes must be the locked row's, or the hold fails (or would take nothing).
    product = await catalogue.add(stock=0)
    admin = await asyncpg.connect(**asyncpg_connect_args(make_url(database_url)))
    try:
        restock = admin.transaction()
        await restock.start()
        await admin.execute("UPDATE products SET stock = stock + 2 WHERE id = $1", product.id)
        hold = asyncio.create_task(
            facade.reserve(
                f"k-{uuid4()}", [ReservationLineRequest(product_id=product.id, quantity=1)]
            )
        )
        await asyncio.sleep(0.3)  # the hold now waits on the restock's row lock
        assert not hold.done()
        await restock.commit()
        held = await hold
    finally:
        await admin.close()

    assert [(line.product_id, line.quantity) for line in held.lines] == [(product.id, 1)]
    assert await catalogue.stock(product) == 1
    assert "disagreed" not in caplog.text


async def test_a_hold_undone_by_its_guard_is_made_step_by_step(
    facade: ProductsFacade, catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch
) -> None:
    product = await catalogue.add(stock=3)
    # A statement whose guard fires: nothing written, the error says division by zero.
    monkeypatch.setattr(
        reservation_repository,
        "_HOLD_ALONE",
        "SELECT 1 / 0 AS consistent, $1::uuid[], $2::int[], $3::numeric, $4::uuid,"
        " $5::text, $6::text, $7::timestamptz, $8::timestamptz",
    )

    held = await facade.reserve(
        f"k-{uuid4()}", [ReservationLineRequest(product_id=product.id, quantity=2)]
    )

    assert [(line.product_id, line.quantity) for line in held.lines] == [(product.id, 2)]
    assert await catalogue.stock(product) == 1
