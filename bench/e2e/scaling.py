"""The scaling check: the same reads over 1x, 10x and 100x the order history."""

import argparse
import os
import statistics
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import Pool

from bench.e2e.data import BENCH_USER, load_catalogue, load_history
from bench.e2e.databases import (
    Databases,
    migrate_orders,
    migrate_products,
    raw_dsn,
    vacuum_analyze,
)
from bench.e2e.load import Cell, lua_script, measure, wrk
from bench.e2e.paths import RESULTS
from bench.e2e.report import machine
from bench.e2e.servers import Secrets, orders_server, products_server, running
from shop_contracts.pagination import Keyset, encode_cursor

FACTORS = (1, 10, 100)
PAGE_SIZE = 20
# The deep cursor page starts this far into the bench user's history.
DEEP = 0.9
# Whether 100x may cost more than 1x: p50 at 100x at most this multiple of 1x.
TARGET_RATIO = 1.2
# (endpoint, whether the flat target applies); page numbers count every order exactly
# and OFFSET skips rows, so they are measured for comparison only (ADR 0023).
ENDPOINTS = (
    ("list-cursor-first", True),
    ("list-cursor-deep", True),
    ("summary-30d", True),
    ("list-page-1", False),
    ("get-order", False),
    ("quote", False),
)
_SKIPPED = ("BEGIN", "COMMIT", "ROLLBACK", "SELECT PG_", "SHOW", "SET ", "RESET")


def size_name(factor: int) -> str:
    """``1x``, ``10x``, ``100x``."""
    return f"{factor}x"


def summary_dates(today: datetime) -> tuple[str, str]:
    """The last 30 UTC days, both ends inclusive."""
    return (today - timedelta(days=29)).date().isoformat(), today.date().isoformat()


async def deep_cursor(orders_db: str, depth: float = DEEP) -> tuple[str, int]:
    """The cursor of the page that starts ``depth`` into the bench user's history; its offset."""
    conn = await asyncpg.connect(raw_dsn(orders_db))
    try:
        mine = await conn.fetchval("SELECT count(*) FROM orders WHERE user_id = $1", BENCH_USER)
        pages_before = max(1, int(mine * depth) // PAGE_SIZE)
        row = await conn.fetchrow(
            "SELECT created_at, id FROM orders WHERE user_id = $1"
            " ORDER BY created_at DESC, id DESC OFFSET $2 LIMIT 1",
            BENCH_USER,
            pages_before * PAGE_SIZE - 1,
        )
    finally:
        await conn.close()
    assert row is not None
    keyset = Keyset(row["created_at"], uuid.UUID(str(row["id"])), pages_before + 1)
    return encode_cursor(keyset), pages_before * PAGE_SIZE


def read_paths(cursor: str, start: str, end: str) -> dict[str, str]:
    """The GET each read endpoint sends."""
    return {
        "list-cursor-first": f"/api/v1/orders?cursor=&page_size={PAGE_SIZE}",
        "list-cursor-deep": f"/api/v1/orders?cursor={cursor}&page_size={PAGE_SIZE}",
        "summary-30d": f"/api/v1/orders/summary?start_date={start}&end_date={end}",
        "list-page-1": f"/api/v1/orders?page=1&page_size={PAGE_SIZE}",
    }


async def explain_queries(
    orders_db: str, products_db: str, order_id: str, product_ids: Sequence[str], cursor: str
) -> dict[str, Any]:
    """Run the real query handlers once, record each SQL statement, EXPLAIN ANALYZE it.

    Statements SQLAlchemy runs are seen by its ``before_cursor_execute``; those
    ``servicekit.sql`` sends to asyncpg itself, by asyncpg's query logger. Each
    is explained twice: as planned for its values (PostgreSQL's first five runs
    of a prepared statement), and as the generic plan it may switch to after.
    """
    from orders.adapters.db.queries import SqlOrderQueries
    from orders.application.queries import GetOrder, GetOrderSummary, ListUserOrders
    from products.facade import ProductsFacade
    from servicekit.db import autocommit_engine, create_engine
    from shop_contracts.pagination import decode_cursor

    captured: list[tuple[str, Sequence[Any]]] = []

    def capture(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        captured.append((statement, tuple(parameters or ())))

    def logged(record: Any) -> None:
        captured.append((record.query, tuple(record.args or ())))

    def on_connect(dbapi_connection: Any, record: Any) -> None:
        record.driver_connection.add_query_logger(logged)

    event.listen(Engine, "before_cursor_execute", capture)
    event.listen(Pool, "connect", on_connect)
    engine = create_engine(orders_db)
    facade = ProductsFacade.from_database_url(products_db)
    await facade.start(run_sweeper=False)
    queries = SqlOrderQueries(engine, autocommit_engine(engine))
    today = datetime.now(UTC)
    start, end = (datetime.fromisoformat(d).date() for d in summary_dates(today))
    calls: dict[str, Callable[[], Any]] = {
        "get_order": lambda: queries.get_order(GetOrder(uuid.UUID(order_id))),
        "list by cursor, first page": lambda: queries.list_user_orders(
            ListUserOrders(user_id=BENCH_USER, page_size=PAGE_SIZE, cursor_mode=True)
        ),
        "list by cursor, deep page": lambda: queries.list_user_orders(
            ListUserOrders(
                user_id=BENCH_USER,
                page_size=PAGE_SIZE,
                cursor_mode=True,
                after=decode_cursor(cursor),
            )
        ),
        "summary, last 30 days": lambda: queries.order_summary(
            GetOrderSummary(user_id=BENCH_USER, start_date=start, end_date=end)
        ),
        "list by page number, page 1": lambda: queries.list_user_orders(
            ListUserOrders(user_id=BENCH_USER, page=1, page_size=PAGE_SIZE)
        ),
        "quote lookup (3 products)": lambda: facade.lookup_products(
            [uuid.UUID(p) for p in product_ids[:3]]
        ),
    }
    handlers: dict[str, list[tuple[str, Sequence[Any]]]] = {}
    try:
        for name, call in calls.items():
            await call()  # warm: connection set-up statements are not the handler's
            captured.clear()
            await call()
            handlers[name] = [
                (s, p) for s, p in captured if not s.lstrip().upper().startswith(_SKIPPED)
            ]
    finally:
        event.remove(Engine, "before_cursor_execute", capture)
        event.remove(Pool, "connect", on_connect)
        await facade.aclose()
        await engine.dispose()
    plans: dict[str, Any] = {}
    for name, statements in handlers.items():
        url = products_db if name.startswith("quote") else orders_db
        conn = await asyncpg.connect(raw_dsn(url))
        try:
            plans[name] = {"statements": len(statements), "plans": []}
            for statement, parameters in statements:
                entry: dict[str, Any] = {"sql": " ".join(statement.split())}
                rows = await conn.fetch(_EXPLAIN + statement, *parameters)
                entry["custom"] = [r[0] for r in rows]
                entry["generic"] = await _generic_plan(conn, statement, parameters)
                plans[name]["plans"].append(entry)
        finally:
            await conn.close()
    return plans


_EXPLAIN = "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, SUMMARY OFF) "


async def _generic_plan(
    conn: asyncpg.Connection, statement: str, parameters: Sequence[Any]
) -> list[str]:
    """The plan PostgreSQL 15 uses once it stops planning per value (EXPLAIN EXECUTE).

    EXECUTE takes no bind parameters, so the values go in as quoted literals.
    """
    types = [t.name for t in (await conn.prepare(statement)).get_parameters()]
    literals = [
        f"{await conn.fetchval(f'SELECT quote_nullable($1::{kind})', value)}::{kind}"
        for kind, value in zip(types, parameters, strict=True)
    ]
    await conn.execute("PREPARE bench_plan AS " + statement)
    try:
        await conn.execute("SET plan_cache_mode = force_generic_plan")
        execute = f"EXECUTE bench_plan({', '.join(literals)})" if literals else "EXECUTE bench_plan"
        rows = await conn.fetch(_EXPLAIN + execute)
    finally:
        await conn.execute("RESET plan_cache_mode")
        await conn.execute("DEALLOCATE bench_plan")
    return [r[0] for r in rows]


async def scaling(args: argparse.Namespace, keys: Secrets) -> dict[str, Any]:
    """The reads at 1x, 10x and 100x the order history (and catalogue), interleaved."""
    dbs = Databases()
    sizes = {
        size_name(factor): (args.products * factor, args.history * factor) for factor in FACTORS
    }
    token = keys.token(BENCH_USER)
    start, end = summary_dates(datetime.now(UTC))
    try:
        setup: dict[str, dict[str, Any]] = {}
        for size, (products_count, history) in sizes.items():
            products_db = await dbs.create(f"products_{size}")
            orders_db = await dbs.create(f"orders_{size}")
            migrate_products(products_db)
            migrate_orders(orders_db)
            products = products_server(f"products-{size}", products_db, keys)
            with running([products]):
                catalogue = load_catalogue(products, keys, products_count)
            mine = await load_history(orders_db, catalogue, history)
            await vacuum_analyze(products_db)
            await vacuum_analyze(orders_db)
            cursor, offset = await deep_cursor(orders_db)
            print(
                f"{size}: {len(catalogue):,} products, {history:,} orders"
                f" ({len(mine):,} of the bench user; deep page at {offset:,})",
                flush=True,
            )
            setup[size] = {
                "products_db": products_db,
                "orders_db": orders_db,
                "catalogue": catalogue,
                "mine": mine,
                "cursor": cursor,
                "products": len(catalogue),
                "orders": history,
                "bench_user_orders": len(mine),
                "deep_offset": offset,
            }
        servers = {
            size: orders_server(
                f"orders-local-{size}",
                "local",
                orders_db=s["orders_db"],
                products_db=s["products_db"],
                products_url="http://127.0.0.1:9",
                keys=keys,
            )
            for size, s in setup.items()
        }
        scripts = {}
        for size, s in setup.items():
            paths = read_paths(s["cursor"], start, end)
            common = {"tokens": [token], "ids": s["catalogue"], "orders": s["mine"][:1_000]}
            for endpoint, _ in ENDPOINTS:
                kind = {"get-order": "get", "quote": "quote"}.get(endpoint, "read")
                scripts[endpoint, size] = lua_script(
                    f"scaling-{endpoint}-{size}",
                    kind,
                    path=paths.get(endpoint, "/"),
                    **common,
                )
        cells: dict[tuple[str, str], list[Cell]] = {key: [] for key in scripts}
        with running(list(servers.values())):
            for (_, size), script in scripts.items():
                wrk(servers[size].url, script, args.scaling_concurrency, 1)
            load_before = os.getloadavg()
            # Interleave sizes and rounds so background load hits every size alike.
            for _ in range(args.rounds):
                for endpoint, _target in ENDPOINTS:
                    for size in sizes:
                        cells[endpoint, size].append(
                            measure(
                                endpoint,
                                size,
                                servers[size].url,
                                scripts[endpoint, size],
                                args.scaling_concurrency,
                                args.scaling_seconds,
                                app_pid=servers[size].pid,
                            )
                        )
            load_after = os.getloadavg()
        largest = setup[size_name(FACTORS[-1])]
        plans = await explain_queries(
            largest["orders_db"],
            largest["products_db"],
            largest["mine"][0],
            largest["catalogue"],
            largest["cursor"],
        )
    finally:
        if not args.keep:
            await dbs.drop_all()

    rows = [_row(endpoint, target, cells, list(sizes)) for endpoint, target in ENDPOINTS]
    table = _table(rows, list(sizes))
    print("\n" + table)
    explain_path = RESULTS / "scaling-explain.txt"
    with explain_path.open("w") as out:
        for name, detail in plans.items():
            out.write(f"## {name}: {detail['statements']} statement(s)\n\n")
            for plan in detail["plans"]:
                out.write(plan["sql"] + "\n\n")
                for kind in ("custom", "generic"):
                    out.write(f"  -- {kind} plan\n    " + "\n    ".join(plan[kind]) + "\n\n")
    print(f"plans: {explain_path}")
    print(f"load average (1 min): {load_before[0]:.2f} -> {load_after[0]:.2f}")
    return {
        "machine": machine(),
        "load_average_1m": {"before": load_before[0], "after": load_after[0]},
        "settings": {
            "concurrency": args.scaling_concurrency,
            "seconds_per_cell": args.scaling_seconds,
            "rounds": args.rounds,
            "target_ratio": TARGET_RATIO,
            "summary_dates": [start, end],
        },
        "sizes": {
            size: {
                k: v
                for k, v in s.items()
                if k in ("products", "orders", "bench_user_orders", "deep_offset")
            }
            for size, s in setup.items()
        },
        "results": rows,
        "table": table,
        "cells": [asdict(c) for cell_list in cells.values() for c in cell_list],
        "plans": plans,
    }


def _row(
    endpoint: str, target: bool, cells: dict[tuple[str, str], list[Cell]], sizes: list[str]
) -> dict[str, Any]:
    """One endpoint: median over rounds of each size's p50, p99 and CPU; the 100x/1x ratio."""
    p50 = {s: statistics.median(c.p50_ms for c in cells[endpoint, s]) for s in sizes}
    p99 = {s: statistics.median(c.p99_ms for c in cells[endpoint, s]) for s in sizes}
    cpu = {s: statistics.median(c.cpu_ms_per_req or 0.0 for c in cells[endpoint, s]) for s in sizes}
    ratio = p50[sizes[-1]] / p50[sizes[0]]
    return {
        "endpoint": endpoint,
        "target": target,
        "p50_ms": {s: round(v, 2) for s, v in p50.items()},
        "p99_ms": {s: round(v, 2) for s, v in p99.items()},
        "cpu_ms": {s: round(v, 2) for s, v in cpu.items()},
        "rounds_p50_ms": {s: [round(c.p50_ms, 2) for c in cells[endpoint, s]] for s in sizes},
        "ratio": round(ratio, 2),
        "met": ratio <= TARGET_RATIO if target else None,
    }


def _table(rows: list[dict[str, Any]], sizes: list[str]) -> str:
    """The Markdown table BENCHMARKS.md shows."""
    head = " | ".join(f"p50 / p99 {s} ms" for s in sizes)
    lines = [
        f"| endpoint | {head} | p50 {sizes[-1]}/{sizes[0]} | ≤ {TARGET_RATIO} |",
        "|---|" + "---:|" * len(sizes) + "---:|---|",
    ]
    for r in rows:
        cells = " | ".join(f"{r['p50_ms'][s]:.2f} / {r['p99_ms'][s]:.2f}" for s in sizes)
        verdict = "not a target" if r["met"] is None else ("met" if r["met"] else "**missed**")
        lines.append(f"| {r['endpoint']} | {cells} | {r['ratio']:.2f} | {verdict} |")
    return "\n".join(lines)
