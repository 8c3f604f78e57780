"""The scaling check: the same handlers over a small and a ten times larger data set."""

import argparse
import os
import statistics
import uuid
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import create_async_engine

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


async def explain_queries(
    orders_db: str, products_db: str, order_id: str, product_ids: Sequence[str]
) -> dict[str, Any]:
    """Run the real query handlers once, record each SQL statement, EXPLAIN ANALYZE it."""
    from orders.adapters.db.queries import SqlOrderQueries
    from orders.application.queries import GetOrder, ListUserOrders
    from products.facade import ProductsFacade

    captured: list[tuple[str, Any]] = []

    def capture(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        captured.append((statement, parameters))

    event.listen(Engine, "before_cursor_execute", capture)
    engine = create_async_engine(orders_db)
    facade = ProductsFacade.from_database_url(products_db)
    await facade.start(run_sweeper=False)
    queries = SqlOrderQueries(engine)
    handlers: dict[str, list[tuple[str, Any]]] = {}
    try:
        for name, call in (
            ("get_order", lambda: queries.get_order(GetOrder(uuid.UUID(order_id)))),
            (
                "list_orders (page 1, 20)",
                lambda: queries.list_user_orders(
                    ListUserOrders(user_id=BENCH_USER, page=1, page_size=20)
                ),
            ),
            (
                "quote lookup (3 products)",
                lambda: facade.lookup_products([uuid.UUID(p) for p in product_ids[:3]]),
            ),
        ):
            await call()  # warm: connection set-up statements are not the handler's
            captured.clear()
            await call()
            handlers[name] = [
                (s, p)
                for s, p in captured
                if not s.lstrip()
                .upper()
                .startswith(("BEGIN", "COMMIT", "ROLLBACK", "SELECT PG_", "SHOW"))
            ]
    finally:
        event.remove(Engine, "before_cursor_execute", capture)
        await facade.aclose()
    plans: dict[str, Any] = {}
    for name, statements in handlers.items():
        url = products_db if name.startswith("quote") else orders_db
        conn = await asyncpg.connect(raw_dsn(url))
        try:
            plans[name] = {"statements": len(statements), "plans": []}
            for statement, parameters in statements:
                rows = await conn.fetch(
                    "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, SUMMARY OFF) " + statement,
                    *(parameters or ()),
                )
                plans[name]["plans"].append(
                    {"sql": " ".join(statement.split()), "plan": [r[0] for r in rows]}
                )
        finally:
            await conn.close()
    await engine.dispose()
    return plans


async def scaling(args: argparse.Namespace, keys: Secrets) -> dict[str, Any]:
    """Quote, get-order and list-orders on a small and a 10x data set, interleaved."""
    dbs = Databases()
    sizes = {
        "small": (args.products, args.history),
        "large": (args.large_products, args.history * 10),
    }
    token = keys.token(BENCH_USER)
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
            print(
                f"{size}: {len(catalogue):,} products, {history:,} orders ({len(mine):,} of the bench user)",
                flush=True,
            )
            setup[size] = {
                "products_db": products_db,
                "orders_db": orders_db,
                "catalogue": catalogue,
                "mine": mine,
                "products": len(catalogue),
                "orders": history,
                "bench_user_orders": len(mine),
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
        scripts = {
            (endpoint, size): lua_script(
                f"scaling-{endpoint}-{size}",
                kind,
                tokens=[token],
                ids=setup[size]["catalogue"],
                orders=setup[size]["mine"],
            )
            for endpoint, kind in (
                ("quote", "quote"),
                ("get-order", "get"),
                ("list-orders", "list"),
            )
            for size in sizes
        }
        p50s: dict[tuple[str, str], list[float]] = {key: [] for key in scripts}
        cells: list[Cell] = []
        with running(list(servers.values())):
            for (_, size), script in scripts.items():
                wrk(servers[size].url, script, args.scaling_concurrency, 1)
            load_before = os.getloadavg()
            # Interleave sizes and rounds so background load hits both alike.
            for _ in range(args.rounds):
                for (endpoint, size), script in scripts.items():
                    cell = measure(
                        endpoint,
                        size,
                        servers[size].url,
                        script,
                        args.scaling_concurrency,
                        args.scaling_seconds,
                        app_pid=servers[size].pid,
                    )
                    cells.append(cell)
                    p50s[endpoint, size].append(cell.p50_ms)
            load_after = os.getloadavg()
        plans = await explain_queries(
            setup["large"]["orders_db"],
            setup["large"]["products_db"],
            setup["large"]["mine"][0],
            setup["large"]["catalogue"],
        )
    finally:
        if not args.keep:
            await dbs.drop_all()

    rows = []
    for endpoint in ("quote", "get-order", "list-orders"):
        small = statistics.median(p50s[endpoint, "small"])
        large = statistics.median(p50s[endpoint, "large"])
        cpu = {
            size: statistics.median(
                c.cpu_ms_per_req or 0.0 for c in cells if (c.scenario, c.target) == (endpoint, size)
            )
            for size in sizes
        }
        change = (large - small) / small
        rows.append(
            {
                "endpoint": endpoint,
                "p50_small_ms": round(small, 2),
                "p50_large_ms": round(large, 2),
                "change_pct": round(100 * change, 1),
                "cpu_ms_small": round(cpu["small"], 2),
                "cpu_ms_large": round(cpu["large"], 2),
                "met": change < 0.20,
            }
        )
    lines = [
        "| endpoint | p50 small ms | p50 large ms | change | < +20 % | CPU ms/req small | large |",
        "|---|---:|---:|---:|---|---:|---:|",
    ]
    lines += [
        f"| {r['endpoint']} | {r['p50_small_ms']:.2f} | {r['p50_large_ms']:.2f} "
        f"| {r['change_pct']:+.1f} % | {'yes' if r['met'] else '**no**'} "
        f"| {r['cpu_ms_small']:.2f} | {r['cpu_ms_large']:.2f} |"
        for r in rows
    ]
    print("\n" + "\n".join(lines))
    explain_path = RESULTS / "scaling-explain.txt"
    with explain_path.open("w") as out:
        for name, detail in plans.items():
            out.write(f"## {name}: {detail['statements']} statement(s)\n\n")
            for plan in detail["plans"]:
                out.write(plan["sql"] + "\n\n    " + "\n    ".join(plan["plan"]) + "\n\n")
    print("\n" + explain_path.read_text())
    print(f"load average (1 min): {load_before[0]:.2f} -> {load_after[0]:.2f}")
    return {
        "machine": machine(),
        "load_average_1m": {"before": load_before[0], "after": load_after[0]},
        "settings": {
            "concurrency": args.scaling_concurrency,
            "seconds_per_cell": args.scaling_seconds,
            "rounds": args.rounds,
        },
        "sizes": {
            size: {k: v for k, v in s.items() if k in ("products", "orders", "bench_user_orders")}
            for size, s in setup.items()
        },
        "p50": rows,
        "cells": [asdict(c) for c in cells],
        "plans": plans,
    }
