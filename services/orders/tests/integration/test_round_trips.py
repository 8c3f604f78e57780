"""What each request sends to PostgreSQL in local mode (both services' databases).

Counted on the wire side: statements SQLAlchemy executes (as prepared statements,
which asyncpg's query logger does not see), and from asyncpg's query logger what
servicekit.sql sends to asyncpg directly, transaction control and pings. Pins the round trips ADR 0008 removed
(pre-ping on every checkout, BEGIN / ROLLBACK around single-statement reads).
"""

import asyncio
from typing import Any

import pytest
from harness import make_settings, running_api
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

import orders.bootstrap.core
import products.facade
from products.testing import Catalogue
from servicekit.db import create_engine

from .conftest import Databases, local_mode

pytestmark = pytest.mark.postgres


_INTROSPECTION = (
    "SELECT current_setting('jit')",
    "WITH RECURSIVE typeinfo_tree",
    "SELECT set_config",
)


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Everything the app's engines send; each entry is one round trip."""
    queries: list[str] = []

    def log(record: Any) -> None:
        query = " ".join(record.query.split())
        # asyncpg looks up a statement's parameter types once per connection (the
        # first time that connection prepares it): not a per-request round trip.
        if not query.startswith(_INTROSPECTION):
            queries.append(query)

    def counting_engine(*args: Any, **kwargs: Any) -> AsyncEngine:
        engine = create_engine(*args, **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.driver_connection.add_query_logger(log)

        @event.listens_for(engine.sync_engine, "before_cursor_execute")
        def _on_statement(*event_args: Any) -> None:
            queries.append(" ".join(str(event_args[2]).split()))

        return engine

    monkeypatch.setattr(orders.bootstrap.core, "create_engine", counting_engine)
    monkeypatch.setattr(products.facade, "create_engine", counting_engine)
    return queries


async def _settled() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


def _kinds(queries: list[str]) -> dict[str, int]:
    kinds = {"begin": 0, "commit": 0, "rollback": 0, "ping": 0, "statements": 0}
    for query in queries:
        word = query.split(" ", 1)[0].rstrip(";").upper()
        if word in ("BEGIN", "COMMIT", "ROLLBACK"):
            kinds[word.lower()] += 1
        elif query in (";", "SELECT 1"):
            kinds["ping"] += 1
        else:
            kinds["statements"] += 1
    return kinds


async def test_round_trips_per_request(
    migrated: Databases, catalogue: Catalogue, sent: list[str]
) -> None:
    first, second = await catalogue.add(stock=50), await catalogue.add(stock=50)
    lines = [(first.id, 1), (second.id, 1)]
    # The flags refresh (one SELECT a second, off the request path) stays out of the count.
    settings = make_settings(migrated.orders, **local_mode(migrated), flags_refresh_seconds=60)
    async with running_api(settings) as api:
        await api.place("trips", lines)  # warm: connections open, statements prepared
        quote_body = {"items": [{"product_id": str(p.id), "quantity": 1} for p in (first, second)]}
        await api.http.post("/api/v1/orders/quote", json=quote_body, headers=api.auth("trips"))
        await _settled()

        sent.clear()
        quote = await api.http.post(
            "/api/v1/orders/quote", json=quote_body, headers=api.auth("trips")
        )
        await _settled()
        quote_trips = _kinds(sent)

        sent.clear()
        placed = await api.place("trips", lines)
        await _settled()
        place_trips = _kinds(sent)

        sent.clear()
        got = await api.http.get(f"/api/v1/orders/{placed.json()['id']}", headers=api.auth("trips"))
        await _settled()
        get_trips = _kinds(sent)

    assert (quote.status_code, placed.status_code, got.status_code) == (200, 201, 200)
    assert quote_trips == {"begin": 0, "commit": 0, "rollback": 0, "ping": 0, "statements": 1}
    assert get_trips == {"begin": 0, "commit": 0, "rollback": 0, "ping": 0, "statements": 2}
    # Two lines: idempotency lookup (autocommit); reserve (the products locked in id
    # order, the key claimed, stock taken and lines written: one statement); save
    # (order claimed on its key, items and outbox: one statement); confirm
    # (conditional update returning the hold with its lines: one statement); settle
    # (version-checked update and outbox: one statement) -- 5 statements, 5 round
    # trips, no BEGIN / COMMIT. ADRs 0011, 0022 and 0028 say what each is for.
    assert place_trips == {"begin": 0, "commit": 0, "rollback": 0, "ping": 0, "statements": 5}
