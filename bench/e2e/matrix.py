"""The main run: every app, scenario and concurrency, paired rows in rounds, one app under load at a time."""

import argparse
import importlib.util
import os
from dataclasses import replace
from typing import Any

from bench.e2e import analysis, chart, report, rounds
from bench.e2e.analysis import (
    ANCHOR,
    BASE_APP,
    CANARY_ALL_LOCAL,
    CANARY_HALF,
    RABBITMQ,
    SAMPLED_SHADOW,
    TRACING,
    WORKERS,
    Round,
    Row,
    app_of,
)
from bench.e2e.canary import canary_facts, describe
from bench.e2e.data import CANARY_SHARE, STOCK, bench_users, load_catalogue
from bench.e2e.databases import (
    Databases,
    migrate_orders,
    migrate_products,
    outbox_drain,
    server_facts,
    vacuum_analyze,
)
from bench.e2e.load import Cell, cell_line, lua_script, measure, wrk
from bench.e2e.paths import PLOT, ROOT, shown
from bench.e2e.profile import print_profile, profile
from bench.e2e.servers import (
    Secrets,
    Server,
    Target,
    anchor_server,
    ceiling_server,
    naive_server,
    orders_server,
    products_server,
    running,
)
from bench.e2e.sinks import RABBITMQ_URL, OtlpSink, bench_exchange, delete_exchange

# Orders apps: name -> (APP_PRODUCTS_CLIENT, extra settings). "shadow" runs at the
# shipped default (every read mirrored); shadow-0.1 mirrors a random tenth of reads.
# Canary mode builds both clients and routes per user: canary-50 sends half the
# bench users (``data.bench_users``) to http, canary-0 nobody (the router's cost).
# The variants of local mode (settings filled in per run by ``variant_env``): two
# worker processes, events published to RabbitMQ, tracing on.
ORDERS_APPS: dict[str, tuple[str, dict[str, str]]] = {
    "local": ("local", {}),
    "http": ("http", {}),
    "shadow": ("shadow", {}),
    SAMPLED_SHADOW: ("shadow", {"APP_SHADOW_SAMPLE_RATE": "0.1"}),
    CANARY_ALL_LOCAL: ("canary", {"APP_CANARY_SHARE": "0"}),
    CANARY_HALF: ("canary", {"APP_CANARY_SHARE": str(CANARY_SHARE)}),
    WORKERS: ("local", {}),
    RABBITMQ: ("local", {}),
    TRACING: ("local", {}),
}
# Which orders apps serve which scenario (events are only published by orders placed).
READ_APPS = (
    "local",
    "http",
    "shadow",
    SAMPLED_SHADOW,
    CANARY_ALL_LOCAL,
    CANARY_HALF,
    WORKERS,
    TRACING,
)
WRITE_APPS = ("local", "http", CANARY_ALL_LOCAL, CANARY_HALF, WORKERS, RABBITMQ, TRACING)
CANARY_APPS = (CANARY_ALL_LOCAL, CANARY_HALF)
APPS = ("ceiling", ANCHOR, *ORDERS_APPS, "naive")
# The anchor app's rows: name -> (wrk kind, path).
ANCHOR_ROWS = {
    "sa-read": ("get-path", "/sa/quote"),
    "pg-read": ("get-path", "/pg/quote"),
    "sa-write": ("post", "/sa/order"),
    "pg-write": ("post", "/pg/order"),
}


def workers_supported() -> bool:
    """Whether the services' ``serve`` command takes ``--workers`` (``servicekit.serve``)."""
    return importlib.util.find_spec("servicekit.serve") is not None


def uses_products(target: Target) -> bool:
    """Whether the products process serves part of this target's requests."""
    return target.name in ("http", "shadow", SAMPLED_SHADOW, CANARY_HALF, "naive")


# Database pool of every process (each pool; --env APP_DB_POOL_SIZE=N overrides).
# A pair keeps two apps up with their pools open: orders-local (orders and
# products databases) next to local-w2 (both, per worker), plus products, is six
# pools; at the shipped 20 that is past PostgreSQL's default max_connections of 100.
PAIRED_POOL_SIZE = 10


def pool_size(keys: Secrets) -> int:
    """The pool size the run's processes use: ``--env APP_DB_POOL_SIZE`` or ``PAIRED_POOL_SIZE``."""
    return int(dict(keys.tuning).get("APP_DB_POOL_SIZE", PAIRED_POOL_SIZE))


async def main_matrix(args: argparse.Namespace, keys: Secrets) -> dict[str, Any]:
    """Measure, print the tables, draw the chart; the report for ``bench.json``."""
    pool = pool_size(keys)
    keys = replace(keys, tuning=(("APP_DB_POOL_SIZE", str(pool)), *keys.tuning))
    if WORKERS in args.apps and not workers_supported():
        print(f"skipping {WORKERS}: `orders serve` has no --workers here", flush=True)
        args.apps = [name for name in args.apps if name != WORKERS]
    dbs = Databases()
    sink = OtlpSink()
    exchange = bench_exchange()
    variant_env = {
        RABBITMQ: {
            "APP_EVENT_BUS": "rabbitmq",
            "APP_RABBITMQ_URL": RABBITMQ_URL,
            "APP_EVENTS_EXCHANGE": exchange,
        },
        TRACING: sink.tracing_env(),
    }
    try:
        products_db = await dbs.create("products")
        anchor_db = await dbs.create("anchor")
        orders_dbs = {name: await dbs.create(f"orders_{i}") for i, name in enumerate(ORDERS_APPS)}
        naive_db = await dbs.create("orders_naive")
        migrate_products(products_db)
        for db in (*orders_dbs.values(), naive_db):
            migrate_orders(db)
        products = products_server("products", products_db, keys)
        with running([products]):
            catalogue = load_catalogue(products, keys, args.products)
        await vacuum_analyze(products_db)
        print(f"catalogue: {len(catalogue)} products, stock {STOCK:,} each", flush=True)

        def orders(name: str, db: str) -> Server:
            mode, extra = ORDERS_APPS.get(name, ("http", {}))
            return orders_server(
                f"orders-{name}",
                mode,
                orders_db=db,
                products_db=products_db,
                products_url=products.url,
                keys=keys,
                extra_env={**extra, **variant_env.get(name, {})},
                workers=2 if name == WORKERS else 1,
            )

        apps = {name: orders(name, db) for name, db in orders_dbs.items()}
        naive = naive_server(orders("naive", naive_db))
        ceiling = ceiling_server()
        anchor = anchor_server(anchor_db, pool)
        users = bench_users()
        tokens = [keys.token(user) for user in users]
        targets = [
            Target("ceiling", "bare", ceiling, lua_script("ceiling", "get-path", path="/ceiling"))
        ]
        targets += [
            Target(ANCHOR, name, anchor, lua_script(f"anchor-{name}", kind, path=path))
            for name, (kind, path) in ANCHOR_ROWS.items()
        ]
        for name, server in (*((n, apps[n]) for n in READ_APPS), ("naive", naive)):
            script = lua_script(f"read-{name}", "quote", tokens=tokens, ids=catalogue)
            targets.append(Target("read", name, server, script))
        for name in WRITE_APPS:
            script = lua_script(f"write-{name}", "order", tokens=tokens, ids=catalogue)
            targets.append(Target("write", name, apps[name], script))

        chosen = {"ceiling": ceiling, ANCHOR: anchor, **apps, "naive": naive}
        selected = [name for name in APPS if name in args.apps]
        by_row = {(t.scenario, t.name): t for t in targets}
        rows_by_app: dict[str, list[Row]] = {}
        for row in by_row:
            rows_by_app.setdefault(app_of(row), []).append(row)
        schedule = rounds.plan(rows_by_app, selected)
        lengths = rounds.round_lengths(args.seconds, args.rounds)

        cells: list[Cell] = []
        measured_rounds: list[Round] = []
        profiled: dict[str, Any] = {}
        outboxes: dict[str, Any] = {}
        canaries: dict[str, Any] = {}
        print(
            f"{len(users)} bench users, {len(users) // 2} of them on http at a "
            f"{CANARY_SHARE} % canary; each request takes the next user in turn",
            flush=True,
        )

        async def after_load(name: str) -> None:
            """What an app's load leaves to read: canary routing, the outbox, a profile."""
            server = chosen[name]
            if name in CANARY_APPS:
                canaries[name] = canary_facts(server)
                print(describe(name, canaries[name]), flush=True)
            if name in ("local", RABBITMQ):
                outboxes[name] = await outbox_drain(orders_dbs[name])
                print(f"  outbox of orders-{name}: {outboxes[name]}", flush=True)
            if not args.no_profile:
                mine = [by_row[row] for row in rows_by_app[name]]
                profiled.update(_profile_app(server, mine, products, apps, args))

        def products_pid(target: Target) -> int | None:
            return products.pid if uses_products(target) else None

        load_before = os.getloadavg()
        print(
            f"measuring ({args.seconds:g} s per cell; pairs in rounds of "
            f"{'+'.join(map(str, lengths))} s a side; database pools of {pool}; "
            f"load {load_before[0]:.2f})",
            flush=True,
        )
        # One app under load at a time (plus products): the two cores and the
        # server's connection slots go to the process being measured. A pair's
        # two apps are both up, the one not being driven idle.
        with running([products]):
            for name, rows in schedule.solo.items():
                if name == BASE_APP and schedule.sessions:
                    continue  # measured while orders-local is up for its pairs, below
                server = chosen[name]
                with running([server]):
                    cells += _measure_app(server, [by_row[r] for r in rows], products, args)
                    await after_load(name)
            if schedule.sessions:
                local = chosen[BASE_APP]
                with running([local]):
                    _warm_up([by_row[row] for row in rows_by_app[BASE_APP]])
                    alone = [by_row[row] for row in schedule.solo.get(BASE_APP, ())]
                    cells += _cells(local, alone, products, args)
                    for session in schedule.sessions:
                        # orders-local carries every session's writes; its partner starts
                        # on a fresh database. Vacuumed first, the rows the earlier sessions
                        # left dead (outbox rows dispatched, orders settled) cost it nothing.
                        await vacuum_analyze(orders_dbs[BASE_APP])
                        await vacuum_analyze(products_db)
                        print(f"pairs: orders-local and {chosen[session.partner].name}", flush=True)
                        with running([chosen[session.partner]]):
                            _warm_up([by_row[row] for row in rows_by_app[session.partner]])
                            for concurrency in args.concurrency:
                                for group in session.groups:
                                    got = rounds.measure_group(
                                        [by_row[row] for row in group],
                                        concurrency,
                                        lengths=lengths,
                                        group_id=len(measured_rounds),
                                        products_pid=products_pid,
                                    )
                                    measured_rounds += got
                                    _echo_rounds(got, concurrency)
                            await after_load(session.partner)
                    await after_load(BASE_APP)
            load_after = os.getloadavg()
        facts = await server_facts(products_db)
    finally:
        sink.close()
        if RABBITMQ in args.apps:
            await delete_exchange(exchange)
        if not args.keep:
            await dbs.drop_all()
    print(f"tracing sink: {sink.requests:,} OTLP exports, {sink.bytes:,} bytes", flush=True)

    cells += analysis.row_cells(measured_rounds)
    pairs = analysis.paired(measured_rounds, args.concurrency)
    checks = analysis.ratios(cells, args.concurrency, pairs)
    cpu_checks = analysis.cpu_ratios(cells, args.concurrency, pairs)
    anchored = analysis.anchor_ratios(cells, pairs)
    print("\n" + report.table(cells))
    print("\n" + report.paired_table(pairs))
    print("\n" + report.anchor_table(anchored))
    print("\n" + report.checks_table(checks))
    print("\n" + report.checks_table(cpu_checks))
    print(f"\nload average (1 min): {load_before[0]:.2f} -> {load_after[0]:.2f}")
    plot_path = (ROOT / args.plot).resolve() if args.plot else PLOT
    chart.plot(cells, args.concurrency, plot_path)
    print(f"wrote {shown(plot_path)}")
    if profiled:
        print_profile(profiled)
    return {
        "machine": report.machine(),
        "load_average_1m": {"before": load_before[0], "after": load_after[0]},
        "settings": {
            "seconds_per_cell": args.seconds,
            "rounds": args.rounds,
            "seconds_per_round": lengths,
            "settle_seconds": rounds.SETTLE_SECONDS,
            "settle_max_drain_seconds": rounds.MAX_DRAIN_SECONDS,
            "concurrency": args.concurrency,
            "catalogue_size": args.products,
            "wrk_threads": 1,
            "env_overrides": dict(keys.tuning),
            "db_pool_size": pool,
            "users": users,
            "canary_share_users_chosen_for": CANARY_SHARE,
        },
        "cells": [vars(c) for c in cells],
        "pairs": pairs,
        "rounds": [{"group": r.group, "round": r.index, **vars(r.cell)} for r in measured_rounds],
        "anchor_ratios": anchored,
        "checks": checks,
        "cpu_checks": cpu_checks,
        "profile": profiled,
        "outbox_after_load": outboxes,
        "canary": canaries,
        "tracing_sink": {"exports": sink.requests, "bytes": sink.bytes},
        "postgres": facts,
    }


def _warm_up(targets: list[Target]) -> None:
    for target in targets:  # connections, caches, code paths
        wrk(target.server.url, target.script, 8, 2 if target.name == "naive" else 1)


def _echo_rounds(got: list[Round], concurrency: int) -> None:
    """A group's rows (rounds pooled) and its pairs' ratios over rounds, for the console."""
    for cell in analysis.row_cells(got):
        print(cell_line(cell), flush=True)
    for pair in analysis.paired(got, [concurrency]):
        median, lo, hi = pair["rps_ratio"]
        cpu, cpu_lo, cpu_hi = pair["cpu_capacity_ratio"]
        print(
            f"    {pair['pair']}: {median:.2f} ({lo:.2f}-{hi:.2f}) by req/s, "
            f"{cpu:.2f} ({cpu_lo:.2f}-{cpu_hi:.2f}) by CPU",
            flush=True,
        )


def _measure_app(
    server: Server, mine: list[Target], products: Server, args: argparse.Namespace
) -> list[Cell]:
    _warm_up(mine)
    return _cells(server, mine, products, args)


def _cells(
    server: Server, mine: list[Target], products: Server, args: argparse.Namespace
) -> list[Cell]:
    return [
        measure(
            target.scenario,
            target.name,
            server.url,
            target.script,
            concurrency,
            args.seconds,
            app_pid=server.pid,
            products_pid=products.pid if uses_products(target) else None,
        )
        for concurrency in args.concurrency
        for target in mine
    ]


def _profile_app(
    server: Server,
    mine: list[Target],
    products: Server,
    apps: dict[str, Server],
    args: argparse.Namespace,
) -> dict[str, Any]:
    if server is apps["http"]:
        print("profiling orders-http and products: write path", flush=True)
        write = next(t for t in mine if t.scenario == "write")
        return {"write-http": profile(write, [server, products], args.profile_seconds)}
    if server is apps["local"]:
        print("profiling orders-local: read and write path", flush=True)
        read = next(t for t in mine if t.scenario == "read")
        write = next(t for t in mine if t.scenario == "write")
        return {
            "read-local": profile(read, [server], args.profile_seconds),
            "write-local": profile(write, [server], args.profile_seconds),
        }
    return {}
