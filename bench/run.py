"""End-to-end benchmark: orders over each product client, driven by wrk.

``just bench`` runs this. It creates fresh PostgreSQL databases, migrates them,
loads a catalogue with plenty of stock through the products admin API, starts
real uvicorn processes with production settings (one worker, uvloop,
httptools, log level WARNING, no access log, generated secrets):

- ``products``, the extracted service;
- ``orders-local``, ``orders-http``, ``orders-shadow``: the orders app with
  ``APP_PRODUCTS_CLIENT`` set to each mode;
- ``orders-naive``: the orders app over a product client that opens a new
  ``httpx.AsyncClient`` per call (``bench/naive_app.py``, bench only);
- ``ceiling``: a bare FastAPI JSON endpoint (``bench/ceiling_app.py``).

Then, after a warm-up, ``wrk`` (one thread, 127.0.0.1 only) drives each
scenario at each concurrency for a fixed short duration:

1. ceiling: ``GET /ceiling`` (what one wrk thread and one uvicorn worker can do);
2. read path: ``POST /api/v1/orders/quote`` with 3 products, local / http / shadow;
3. write path: ``POST /api/v1/orders`` with 2 lines and a unique
   Idempotency-Key per request, local / http;
4. naive: the read path through the per-call client.

Prints a markdown table and the ratios against the targets, writes
``bench-results/bench.json`` and ``docs/bench/throughput.png``, and samples the
orders-http and products processes with py-spy during an extra write-path run
(``bench-results/profile-*.txt``).

``--scaling`` runs the scaling check instead: the same orders-local app over a
small (50 products, 2,000 orders) and a large data set (5,000 products, 20,000
orders; the bench user has 10 % of the orders in both), comparing the p50 of quote,
get-order and list-orders, counting the SQL statements each handler issues and
saving their EXPLAIN ANALYZE plans (``bench-results/scaling.json``,
``bench-results/scaling-explain.txt``).

    uv run python bench/run.py [--seconds 4] [--concurrency 1 8 32] [--scaling]
"""

import argparse
import asyncio
import json
import os
import platform
import random
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from pydantic import SecretStr
from sqlalchemy import event, insert
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.ext.asyncio import create_async_engine

from servicekit.auth import mint_user_token
from servicekit.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench-results"
PLOT = ROOT / "docs" / "bench" / "throughput.png"
DEFAULT_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
HOST = "127.0.0.1"
BENCH_USER = "bench-user"
STOCK = 100_000_000


# --------------------------------------------------------------------------- databases


class Databases:
    """Fresh databases on the server of ``TEST_DATABASE_URL``; dropped at the end."""

    def __init__(self, url: str) -> None:
        self._url = make_url(url)
        self._tag = f"bench_{int(time.time())}_{secrets.token_hex(3)}"
        self.created: list[str] = []

    def _dsn(self, database: str) -> str:
        return self._url.set(drivername="postgresql", database=database).render_as_string(
            hide_password=False
        )

    def url(self, database: str) -> str:
        """SQLAlchemy URL of ``database`` on the same server."""
        return self._url.set(drivername="postgresql+asyncpg", database=database).render_as_string(
            hide_password=False
        )

    async def create(self, name: str) -> str:
        database = f"{self._tag}_{name}"
        conn = await asyncpg.connect(self._dsn(self._url.database or "postgres"))
        try:
            await conn.execute(f'CREATE DATABASE "{database}"')
        finally:
            await conn.close()
        self.created.append(database)
        return self.url(database)

    async def vacuum_analyze(self, url: str) -> None:
        conn = await asyncpg.connect(self._dsn(make_url(url).database or ""))
        try:
            await conn.execute("VACUUM ANALYZE")
        finally:
            await conn.close()

    async def drop_all(self) -> None:
        conn = await asyncpg.connect(self._dsn(self._url.database or "postgres"))
        try:
            for database in self.created:
                await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        finally:
            await conn.close()


def run_cli(module: str, *args: str, env: dict[str, str]) -> None:
    """Run a service CLI (e.g. ``products.entrypoints.cli migrate``) to completion."""
    # Our own interpreter and module names: no untrusted input reaches the argv.
    subprocess.run(  # noqa: S603
        [sys.executable, "-m", module, *args],
        env={**os.environ, **env},
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=120,
    )


# --------------------------------------------------------------------------- processes


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    import socket

    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    """One uvicorn process (one worker) with the production flags."""

    name: str
    factory: str
    env: dict[str, str]
    ready_path: str = "/health/ready"
    app_dir: str | None = None
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def log_path(self) -> Path:
        return RESULTS / "logs" / f"{self.name}.log"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> "Server":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        argv = [
            sys.executable, "-m", "uvicorn", "--factory", self.factory,
            "--host", HOST, "--port", str(self.port),
            "--loop", "uvloop", "--http", "httptools",
            "--log-level", "warning", "--no-access-log",
        ]  # fmt: skip
        if self.app_dir:
            argv += ["--app-dir", self.app_dir]
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(  # noqa: S603 (our interpreter, fixed argv)
                argv, env={**os.environ, **self.env}, cwd=ROOT, stdout=log, stderr=log
            )
        return self

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.log_path.read_text()}")
            try:
                if httpx.get(self.url + self.ready_path, timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"{self.name} not ready after {timeout}s:\n{self.log_path.read_text()}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


@contextmanager
def running(servers: Sequence[Server]) -> Iterator[None]:
    """Start all servers (in parallel), wait until ready, stop them all at the end."""
    try:
        for server in servers:
            server.start()
        for server in servers:
            server.wait_ready()
        yield
    finally:
        for server in servers:
            server.stop()


@dataclass(frozen=True)
class Secrets:
    """Strong secrets generated per run (production refuses the dev defaults)."""

    jwt: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    service: str = field(default_factory=lambda: secrets.token_urlsafe(36))

    tuning: tuple[tuple[str, str], ...] = ()

    def env(self) -> dict[str, str]:
        return {
            "APP_ENVIRONMENT": "production",
            "APP_JWT_SECRET": self.jwt,
            "APP_SERVICE_TOKEN": self.service,
            "APP_LOG_LEVEL": "WARNING",
            **dict(self.tuning),
        }

    def token(self, user_id: str, *roles: str) -> str:
        settings = ServiceSettings(jwt_secret=SecretStr(self.jwt))
        return mint_user_token(settings, user_id, roles=roles, ttl_seconds=6 * 3600)


def products_server(name: str, database_url: str, keys: Secrets) -> Server:
    return Server(
        name, "products.main:create_app", {**keys.env(), "APP_DATABASE_URL": database_url}
    )


def orders_server(
    name: str,
    mode: str,
    *,
    orders_db: str,
    products_db: str,
    products_url: str,
    keys: Secrets,
    factory: str = "orders.main:create_app",
    app_dir: str | None = None,
    extra_env: dict[str, str] | None = None,
) -> Server:
    env = {
        **keys.env(),
        "APP_DATABASE_URL": orders_db,
        "APP_PRODUCTS_CLIENT": mode,
        "APP_PRODUCTS_DATABASE_URL": products_db,
        "APP_PRODUCTS_URL": products_url,
        **(extra_env or {}),
    }
    return Server(name, factory, env, app_dir=app_dir)


def load_catalogue(products: Server, keys: Secrets, count: int) -> list[str]:
    """Create ``count`` products with plenty of stock through the admin API; their ids."""
    headers = {"Authorization": f"Bearer {keys.token('bench-admin', 'admin')}"}
    ids: list[str] = []
    with httpx.Client(base_url=products.url + "/api/v1", headers=headers, timeout=30) as http:
        for start in range(0, count, 100):
            batch = [
                {
                    "sku": f"BENCH-{n:05d}",
                    "name": f"Bench product {n}",
                    "description": "Benchmark catalogue item",
                    "price": f"{5 + n % 50}.99",
                    "currency": "EUR",
                    "stock": STOCK,
                }
                for n in range(start, min(count, start + 100))
            ]
            response = http.post("/products/bulk", json={"products": batch})
            response.raise_for_status()
            ids += [item["id"] for item in response.json()["created"]]
    return ids


# --------------------------------------------------------------------------- wrk

LUA = r"""
-- Generated by bench/run.py: one scenario for wrk.
local ids = {%(ids)s}
local order_ids = {%(order_ids)s}
local token = "%(token)s"
local prefix = "%(prefix)s"
local kind = "%(kind)s"
local threads = {}
local counter = 0
errors = 0
tid = 0

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function init(args)
  -- A fresh run id from bench/run.py per wrk run keeps Idempotency-Keys unique.
  if args[1] then prefix = prefix .. "-" .. args[1] end
  math.randomseed(os.time() * 1000 + tid)
end

local function cart(n)
  local parts, seen = {}, {}
  while #parts < n do
    local id = ids[math.random(#ids)]
    if not seen[id] then
      seen[id] = true
      parts[#parts + 1] = '{"product_id":"' .. id .. '","quantity":1}'
    end
  end
  return '{"items":[' .. table.concat(parts, ",") .. ']}'
end

function request()
  counter = counter + 1
  local headers = {["Authorization"] = "Bearer " .. token}
  if kind == "quote" then
    headers["Content-Type"] = "application/json"
    return wrk.format("POST", "/api/v1/orders/quote", headers, cart(3))
  elseif kind == "order" then
    headers["Content-Type"] = "application/json"
    headers["Idempotency-Key"] = prefix .. "-" .. tid .. "-" .. counter
    return wrk.format("POST", "/api/v1/orders", headers, cart(2))
  elseif kind == "get" then
    return wrk.format("GET", "/api/v1/orders/" .. order_ids[math.random(#order_ids)], headers)
  elseif kind == "list" then
    return wrk.format("GET", "/api/v1/orders?page=1&page_size=20", headers)
  end
  return wrk.format("GET", "/ceiling")
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    errors = errors + 1
    if errors <= 3 then
      io.stderr:write("non-2xx " .. status .. ": " .. string.sub(body or "", 1, 300) .. "\n")
    end
  end
end

function done(summary, latency, requests)
  local non2xx = 0
  for _, t in ipairs(threads) do non2xx = non2xx + t:get("errors") end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%%d,"duration_us":%%d,"non2xx":%%d,"connect":%%d,"read":%%d,' ..
    '"write":%%d,"timeout":%%d,"p50_us":%%d,"p95_us":%%d,"p99_us":%%d,"max_us":%%d}\n',
    summary.requests, summary.duration, non2xx, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
"""


def lua_script(
    name: str, kind: str, *, token: str = "", ids: Sequence[str] = (), orders: Sequence[str] = ()
) -> Path:
    """Write the wrk script for one scenario; returns its path."""
    path = RESULTS / "lua" / f"{name}.lua"
    path.parent.mkdir(parents=True, exist_ok=True)
    quoted = ",".join(f'"{i}"' for i in ids)
    path.write_text(
        LUA
        % {
            "ids": quoted,
            "order_ids": ",".join(f'"{i}"' for i in orders),
            "token": token,
            "prefix": f"{name}-{secrets.token_hex(4)}",
            "kind": kind,
        }
    )
    return path


@dataclass(frozen=True)
class Cell:
    """One target at one concurrency: what wrk measured."""

    scenario: str
    target: str
    concurrency: int
    seconds: float
    requests: int
    errors: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    # CPU time the app process (and products, when it takes part) spent per
    # successful request: independent of the share of a core the process got.
    cpu_ms_per_req: float | None = None
    products_cpu_ms_per_req: float | None = None


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux ``/proc``); 0 elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    # After "pid (comm)": state is fields[0], utime fields[11], stime fields[12].
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk_path() -> str:
    """wrk's absolute path (``ensure_wrk`` ran first)."""
    return shutil.which("wrk") or "/usr/bin/wrk"


def wrk(url: str, script: Path, concurrency: int, seconds: float) -> dict[str, Any]:
    """Run wrk once (one thread) and return the JSON its ``done()`` hook printed."""
    argv = [
        wrk_path(), "-t1", f"-c{concurrency}", f"-d{seconds:g}s", "--timeout", "5s",
        "-s", str(script), url, "--", secrets.token_hex(6),
    ]  # fmt: skip
    out = subprocess.run(  # noqa: S603 (fixed argv, 127.0.0.1 only)
        argv, capture_output=True, text=True, check=True, timeout=seconds + 60
    )
    match = re.search(r"^BENCH_JSON (\{.*\})$", out.stdout, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"wrk printed no result:\n{out.stdout}\n{out.stderr}")
    result: dict[str, Any] = json.loads(match.group(1))
    if out.stderr.strip():
        result["stderr"] = out.stderr.strip()[:1000]
    return result


def measure(
    scenario: str,
    target: str,
    url: str,
    script: Path,
    concurrency: int,
    seconds: float,
    *,
    app_pid: int | None = None,
    products_pid: int | None = None,
) -> Cell:
    pids = [pid for pid in (app_pid, products_pid) if pid is not None]
    before = {pid: cpu_seconds(pid) for pid in pids}
    raw = wrk(url, script, concurrency, seconds)
    used = {pid: cpu_seconds(pid) - before[pid] for pid in pids}
    elapsed = raw["duration_us"] / 1e6
    errors = raw["non2xx"] + raw["connect"] + raw["read"] + raw["write"] + raw["timeout"]
    ok = max(1, raw["requests"] - errors)

    def per_request(pid: int | None) -> float | None:
        return None if pid is None else round(1000 * used[pid] / ok, 3)

    cell = Cell(
        scenario=scenario,
        target=target,
        concurrency=concurrency,
        seconds=round(elapsed, 2),
        requests=raw["requests"],
        errors=errors,
        rps=round((raw["requests"] - errors) / elapsed, 1),
        p50_ms=raw["p50_us"] / 1000,
        p95_ms=raw["p95_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
        cpu_ms_per_req=per_request(app_pid),
        products_cpu_ms_per_req=per_request(products_pid),
    )
    cpu = f"  cpu {cell.cpu_ms_per_req:.2f} ms/req" if cell.cpu_ms_per_req is not None else ""
    note = f"  ({raw['stderr'].splitlines()[0]})" if "stderr" in raw else ""
    print(
        f"  {scenario:8} {target:8} c={concurrency:<3} {cell.rps:9,.1f} req/s  "
        f"p50 {cell.p50_ms:7.2f}  p99 {cell.p99_ms:8.2f} ms  errors {errors}{cpu}{note}",
        flush=True,
    )
    return cell


# --------------------------------------------------------------------------- main matrix

# Shadow mode mirroring a tenth of the reads (APP_SHADOW_SAMPLE_RATE); "shadow"
# itself runs at the shipped default, 1.0 (every read mirrored).
SAMPLED_SHADOW = "shadow-0.1"
SAMPLED_SHADOW_RATE = "0.1"


@dataclass(frozen=True)
class Target:
    scenario: str
    name: str
    server: Server
    script: Path


def uses_products(target: Target) -> bool:
    """Whether the products process serves part of this target's requests."""
    return target.name in ("http", "shadow", SAMPLED_SHADOW, "naive")


def _rps(cells: Sequence[Cell], scenario: str, target: str, concurrency: int) -> float:
    for cell in cells:
        if (cell.scenario, cell.target, cell.concurrency) == (scenario, target, concurrency):
            return cell.rps
    return 0.0


def _p99(cells: Sequence[Cell], scenario: str, target: str, concurrency: int) -> float:
    for cell in cells:
        if (cell.scenario, cell.target, cell.concurrency) == (scenario, target, concurrency):
            return cell.p99_ms
    return float("nan")


def ratios(cells: Sequence[Cell], levels: Sequence[int]) -> list[dict[str, Any]]:
    """Throughput ratios and latency checks against the targets, per concurrency."""
    checks: list[dict[str, Any]] = []

    def ratio(a: float, b: float) -> float:
        return round(a / b, 3) if b else float("inf")

    for c in levels:
        rows: list[tuple[str, float, str, bool]] = []
        value = ratio(_rps(cells, "read", "http", c), _rps(cells, "read", "local", c))
        rows.append(("read http/local", value, ">= 0.45", value >= 0.45))
        value = ratio(_rps(cells, "read", "shadow", c), _rps(cells, "read", "local", c))
        rows.append(("read shadow/local", value, ">= 0.8", value >= 0.8))
        value = ratio(_rps(cells, "read", SAMPLED_SHADOW, c), _rps(cells, "read", "local", c))
        rows.append(("read shadow-0.1/local", value, ">= 0.8", value >= 0.8))
        value = ratio(_rps(cells, "read", "http", c), _rps(cells, "read", "naive", c))
        rows.append(("read http/naive", value, ">= 40", value >= 40))
        value = ratio(_rps(cells, "write", "http", c), _rps(cells, "write", "local", c))
        rows.append(("write http/local", value, ">= 0.5", value >= 0.5))
        value = ratio(_rps(cells, "read", "local", c), _rps(cells, "ceiling", "bare", c))
        rows.append(("read local/ceiling", value, "(context)", True))
        if c == max(levels):
            for scenario in ("read", "write"):
                for target, limit in (("local", 50.0), ("http", 100.0)):
                    p99 = _p99(cells, scenario, target, c)
                    rows.append((f"{scenario} {target} p99 ms", p99, f"<= {limit:g}", p99 <= limit))
        checks += [
            {"concurrency": c, "check": name, "value": v, "target": t, "met": ok}
            for name, v, t, ok in rows
        ]
    return checks


def _cell(cells: Sequence[Cell], scenario: str, target: str, concurrency: int) -> Cell | None:
    for cell in cells:
        if (cell.scenario, cell.target, cell.concurrency) == (scenario, target, concurrency):
            return cell
    return None


def core_capacity(cell: Cell | None) -> float:
    """req/s if each process of the path had one core to itself: 1 / busiest process's CPU."""
    if cell is None or not cell.cpu_ms_per_req:
        return 0.0
    busiest = max(cell.cpu_ms_per_req, cell.products_cpu_ms_per_req or 0.0)
    return 1000 / busiest


def cpu_ratios(cells: Sequence[Cell], levels: Sequence[int]) -> list[dict[str, Any]]:
    """The throughput targets again, from CPU per request instead of measured req/s.

    On a shared machine measured req/s follows the share of a core each process
    got while its cells ran; CPU time per request does not. Capacity assumes a
    core per process (orders, products), which is how the services deploy.
    """
    rows: list[dict[str, Any]] = []
    pairs = (
        ("read http/local", ("read", "http"), ("read", "local"), 0.45),
        ("read shadow/local", ("read", "shadow"), ("read", "local"), 0.8),
        ("read shadow-0.1/local", ("read", SAMPLED_SHADOW), ("read", "local"), 0.8),
        ("read http/naive", ("read", "http"), ("read", "naive"), 40.0),
        ("write http/local", ("write", "http"), ("write", "local"), 0.5),
    )
    for c in levels:
        for name, top, bottom, target in pairs:
            a = core_capacity(_cell(cells, *top, c))
            b = core_capacity(_cell(cells, *bottom, c))
            value = round(a / b, 3) if b else float("nan")
            rows.append(
                {
                    "concurrency": c,
                    "check": f"{name} (CPU)",
                    "value": value,
                    "target": f">= {target:g}",
                    "met": value >= target,
                }
            )
    return rows


def table(cells: Sequence[Cell]) -> str:
    lines = [
        "| scenario | target | c | requests | errors | req/s | p50 ms | p95 ms | p99 ms "
        "| CPU ms/req app | CPU ms/req products |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    order = {"ceiling": 0, "read": 1, "write": 2}
    for cell in sorted(cells, key=lambda c: (order.get(c.scenario, 9), c.target, c.concurrency)):
        lines.append(
            f"| {cell.scenario} | {cell.target} | {cell.concurrency} | {cell.requests:,} "
            f"| {cell.errors} | {cell.rps:,.0f} | {cell.p50_ms:.2f} | {cell.p95_ms:.2f} "
            f"| {cell.p99_ms:.2f} | {_ms(cell.cpu_ms_per_req)} | {_ms(cell.products_cpu_ms_per_req)} |"
        )
    return "\n".join(lines)


def _ms(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def checks_table(checks: Sequence[dict[str, Any]]) -> str:
    lines = ["| c | check | value | target | met |", "|---:|---|---:|---|---|"]
    for check in checks:
        value = check["value"]
        shown = f"{value:,.2f}" if isinstance(value, float) else str(value)
        met = "yes" if check["met"] else "**no**"
        lines.append(
            f"| {check['concurrency']} | {check['check']} | {shown} | {check['target']} | {met} |"
        )
    return "\n".join(lines)


def plot(cells: Sequence[Cell], levels: Sequence[int]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (read_ax, write_ax) = plt.subplots(1, 2, figsize=(11, 4.5))
    series = {
        read_ax: [
            ("ceiling", "bare", "ceiling (bare FastAPI)"),
            ("read", "local", "quote, local"),
            ("read", "http", "quote, http"),
            ("read", "shadow", "quote, shadow (every read mirrored)"),
            ("read", SAMPLED_SHADOW, "quote, shadow, 10 % of reads mirrored"),
            ("read", "naive", "quote, client per call"),
        ],
        write_ax: [
            ("write", "local", "place order, local"),
            ("write", "http", "place order, http"),
        ],
    }
    for ax, lines in series.items():
        for scenario, target, label in lines:
            ax.plot(
                levels, [_rps(cells, scenario, target, c) for c in levels], marker="o", label=label
            )
        ax.set_xscale("log", base=2)
        ax.set_xticks(list(levels), [str(c) for c in levels])
        ax.set_xlabel("concurrent connections (wrk, 1 thread)")
        ax.set_ylabel("successful req/s")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8, loc="center right" if ax is read_ax else "best")
    read_ax.set_yscale("log")
    read_ax.set_title("Read path: POST /orders/quote (3 products)")
    write_ax.set_title("Write path: POST /orders (2 lines)")
    write_ax.set_ylim(bottom=0)
    fig.suptitle(f"orders throughput, one uvicorn worker per process, {os.cpu_count()} CPUs")
    fig.tight_layout()
    PLOT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(PLOT, dpi=110)
    plt.close(fig)


def py_spy() -> str | None:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return found if Path(found).exists() else None


def profile(target: Target, servers: Sequence[Server], seconds: float) -> dict[str, Any]:
    """Sample ``servers`` with py-spy while wrk drives ``target`` at c=32."""
    tool = py_spy()
    if tool is None:
        return {"error": "py-spy not found"}
    outputs = {
        server.name: RESULTS / f"profile-{target.scenario}-{server.name}.txt" for server in servers
    }
    time.sleep(2)  # let requests left over from the previous cell finish first
    spies = [
        _spy(tool, server.pid, out, seconds)
        for server, out in zip(servers, outputs.values(), strict=True)
    ]
    cell = measure(
        f"profile-{target.scenario}",
        target.name,
        target.server.url,
        target.script,
        32,
        seconds + 2,
        app_pid=target.server.pid,
    )
    summary: dict[str, Any] = {"load": asdict(cell)}
    for spy, (name, out) in zip(spies, outputs.items(), strict=True):
        log = spy.communicate(timeout=60)[0].decode(errors="replace")
        if spy.returncode != 0 or not out.exists():
            summary[name] = {"error": log.strip()[-500:]}
            continue
        summary[name] = summarise_profile(out)
    return summary


def _spy(tool: str, pid: int, out: Path, seconds: float) -> subprocess.Popen[bytes]:
    argv = [
        tool, "record", "--pid", str(pid), "--duration", f"{seconds:g}",
        "--rate", "250", "--format", "raw", "--nonblocking", "--output", str(out),
    ]  # fmt: skip
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # noqa: S603


def _bucket(frame: str) -> str:
    """Which package a py-spy frame ``func (path:line)`` belongs to."""
    # py-spy shortens paths to ``package/module.py``; a bare ``name.py`` is a stdlib module.
    match = re.search(r"\((.*?):\d+\)$", frame.strip())
    path = match.group(1) if match else frame.strip()
    if "/" in path:
        return path.split("/", 1)[0]
    return path.removesuffix(".py")


def summarise_profile(path: Path) -> dict[str, Any]:
    """Self and inclusive sample shares by package, plus the hottest leaf functions."""
    self_by: Counter[str] = Counter()
    incl_by: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [f for f in stack.split(";") if f.strip()]
        if not frames:
            continue
        total += count
        buckets = [_bucket(f) for f in frames]
        self_by[buckets[-1]] += count
        for bucket in set(buckets):
            incl_by[bucket] += count
        leaf = re.sub(r"\s+\(/.*?([^/]+/[^/]+:\d+)\)$", r" (\1)", frames[-1].strip())
        leaves[leaf] += count

    def shares(counter: Counter[str], n: int) -> list[tuple[str, float]]:
        return [(k, round(100 * v / total, 1)) for k, v in counter.most_common(n)] if total else []

    return {
        "samples": total,
        "self_pct": shares(self_by, 15),
        "inclusive_pct": shares(incl_by, 20),
        "top_leaves_pct": shares(leaves, 15),
    }


def tuning(args: argparse.Namespace) -> tuple[tuple[str, str], ...]:
    """Settings overrides for every service process (``--env NAME=VALUE``)."""
    pairs = [item.split("=", 1) for item in args.env]
    if any(len(pair) != 2 or not pair[0].startswith(("APP_", "FEATURE_")) for pair in pairs):
        sys.exit("--env takes APP_NAME=VALUE or FEATURE_NAME=VALUE")
    return tuple((name, value) for name, value in pairs)


async def main_matrix(args: argparse.Namespace) -> dict[str, Any]:
    dbs = Databases(os.environ.get("TEST_DATABASE_URL") or DEFAULT_DATABASE_URL)
    keys = Secrets(tuning=tuning(args))
    try:
        products_db = await dbs.create("products")
        orders_dbs = {
            mode: await dbs.create(f"orders_{mode}")
            for mode in ("local", "http", "shadow", "shadow_sampled", "naive")
        }
        run_cli("products.entrypoints.cli", "migrate", env={"APP_DATABASE_URL": products_db})
        for db in orders_dbs.values():
            run_cli(
                "orders.entrypoints.cli",
                "migrate",
                env={"APP_DATABASE_URL": db, "APP_PRODUCTS_CLIENT": "http"},
            )
        products = products_server("products", products_db, keys)
        with running([products]):
            catalogue = load_catalogue(products, keys, args.products)
        await dbs.vacuum_analyze(products_db)
        print(f"catalogue: {len(catalogue)} products, stock {STOCK:,} each", flush=True)

        orders = {
            mode: orders_server(
                f"orders-{mode}",
                mode,
                orders_db=orders_dbs[mode],
                products_db=products_db,
                products_url=products.url,
                keys=keys,
            )
            for mode in ("local", "http", "shadow")
        }
        orders[SAMPLED_SHADOW] = orders_server(
            f"orders-{SAMPLED_SHADOW}",
            "shadow",
            orders_db=orders_dbs["shadow_sampled"],
            products_db=products_db,
            products_url=products.url,
            keys=keys,
            extra_env={"APP_SHADOW_SAMPLE_RATE": SAMPLED_SHADOW_RATE},
        )
        naive = orders_server(
            "orders-naive",
            "http",
            orders_db=orders_dbs["naive"],
            products_db=products_db,
            products_url=products.url,
            keys=keys,
            factory="naive_app:create_app",
            app_dir="bench",
        )
        ceiling = Server("ceiling", "ceiling_app:create_app", {}, "/ceiling", "bench")
        token = keys.token(BENCH_USER)
        targets = [Target("ceiling", "bare", ceiling, lua_script("ceiling", "ceiling"))]
        for name, server in (*orders.items(), ("naive", naive)):
            targets.append(
                Target(
                    "read",
                    name,
                    server,
                    lua_script(f"read-{name}", "quote", token=token, ids=catalogue),
                )
            )
        for name in ("local", "http"):
            targets.append(
                Target(
                    "write",
                    name,
                    orders[name],
                    lua_script(f"write-{name}", "order", token=token, ids=catalogue),
                )
            )
        # One app under load at a time (plus products): the two cores and the
        # server's connection slots go to the process being measured.
        cells: list[Cell] = []
        profiled: dict[str, Any] = {}
        load_before = os.getloadavg()
        print(f"measuring ({args.seconds:g} s per cell; load {load_before[0]:.2f})", flush=True)
        with running([products]):
            for server in (ceiling, *orders.values(), naive):
                mine = [t for t in targets if t.server is server]
                with running([server]):
                    for target in mine:  # warm-up: connections, caches, code paths
                        wrk(server.url, target.script, 8, 2 if target.name == "naive" else 1)
                    for concurrency in args.concurrency:
                        for target in mine:
                            cells.append(
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
                            )
                    if args.no_profile:
                        continue
                    if server is orders["http"]:
                        print("profiling orders-http and products: write path", flush=True)
                        write = next(t for t in mine if t.scenario == "write")
                        profiled["write-http"] = profile(
                            write, [server, products], args.profile_seconds
                        )
                    elif server is orders["local"]:
                        print("profiling orders-local: read path", flush=True)
                        read = next(t for t in mine if t.scenario == "read")
                        profiled["read-local"] = profile(read, [server], args.profile_seconds)
            load_after = os.getloadavg()
        stats = await pool_stats(products_db)
    finally:
        if not args.keep:
            await dbs.drop_all()

    checks = ratios(cells, args.concurrency)
    cpu_checks = cpu_ratios(cells, args.concurrency)
    print()
    print(table(cells))
    print()
    print(checks_table(checks))
    print()
    print(checks_table(cpu_checks))
    print(f"\nload average (1 min): {load_before[0]:.2f} -> {load_after[0]:.2f}")
    plot(cells, args.concurrency)
    print(f"wrote {PLOT.relative_to(ROOT)}")
    if profiled:
        print_profile(profiled)
    return {
        "machine": machine(),
        "load_average_1m": {"before": load_before[0], "after": load_after[0]},
        "settings": {
            "seconds_per_cell": args.seconds,
            "concurrency": args.concurrency,
            "catalogue_size": args.products,
            "wrk_threads": 1,
            "env_overrides": dict(keys.tuning),
        },
        "cells": [asdict(c) for c in cells],
        "checks": checks,
        "cpu_checks": cpu_checks,
        "profile": profiled,
        "postgres": stats,
    }


async def pool_stats(products_db: str) -> dict[str, Any]:
    """The PostgreSQL server's version and connection limit."""
    conn = await asyncpg.connect(
        make_url(products_db).set(drivername="postgresql").render_as_string(hide_password=False)
    )
    try:
        version = await conn.fetchval("SHOW server_version")
        max_connections = await conn.fetchval("SHOW max_connections")
    finally:
        await conn.close()
    return {"server_version": version, "max_connections": max_connections}


def print_profile(profiled: dict[str, Any]) -> None:
    for run, processes in profiled.items():
        for name, summary in processes.items():
            if name == "load" or not isinstance(summary, dict):
                continue
            samples = summary.get("samples", 0)
            print(f"\npy-spy {run} {name}: {samples} samples {summary.get('error', '')}")
            for key in ("inclusive_pct", "self_pct", "top_leaves_pct"):
                print(f"  {key}: " + ", ".join(f"{k} {v}%" for k, v in summary.get(key, [])))


def machine() -> dict[str, Any]:
    cpu = "unknown"
    memory = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) // 1024 // 1024} GiB"
                break
    except OSError:
        pass
    wrk_version = subprocess.run(  # noqa: S603 (fixed argv)
        [wrk_path(), "--version"], capture_output=True, text=True, check=False
    ).stdout.splitlines()
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu,
        "memory": memory,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "wrk": wrk_version[0].strip() if wrk_version else "unknown",
        "versions": {
            name: metadata.version(name)
            for name in (
                "fastapi",
                "starlette",
                "uvicorn",
                "uvloop",
                "httptools",
                "httpx",
                "aiohttp",
                "httpx-aiohttp",
                "sqlalchemy",
                "asyncpg",
                "pydantic",
            )
        },
    }


# --------------------------------------------------------------------------- scaling


async def load_history(orders_db: str, product_ids: Sequence[str], count: int) -> list[str]:
    """Insert ``count`` past orders (2 lines each), 10 % of them the bench user's; their ids."""
    from orders.adapters.db.tables import order_items, orders

    rng = random.Random(count)
    now = datetime.now(UTC)
    statuses = ("confirmed", "paid", "shipped", "delivered", "cancelled")
    mine: list[str] = []
    engine = create_async_engine(orders_db)
    try:
        async with engine.begin() as conn:
            for start in range(0, count, 2_000):
                order_rows: list[dict[str, Any]] = []
                item_rows: list[dict[str, Any]] = []
                for n in range(start, min(count, start + 2_000)):
                    order_id = uuid.UUID(int=rng.getrandbits(128), version=4)
                    user = BENCH_USER if n % 10 == 0 else f"user-{n % 97}"
                    created = now - timedelta(seconds=rng.uniform(0, 365 * 86_400))
                    lines = rng.sample(list(product_ids), 2)
                    prices = [rng.randint(100, 9_999) for _ in lines]
                    order_rows.append(
                        {
                            "id": order_id,
                            "user_id": user,
                            "customer_email": f"{user}@example.com",
                            "idempotency_key": f"history-{n}",
                            "request_hash": "0" * 64,
                            "reservation_id": uuid.UUID(int=rng.getrandbits(128), version=4),
                            "status": rng.choice(statuses),
                            "currency": "EUR",
                            "total_cents": sum(prices),
                            "version": 1,
                            "created_at": created,
                            "updated_at": created,
                        }
                    )
                    item_rows += [
                        {
                            "order_id": order_id,
                            "line_no": i,
                            "product_id": uuid.UUID(product),
                            "product_name": f"Bench product {product[:8]}",
                            "quantity": 1,
                            "unit_price_cents": price,
                            "currency": "EUR",
                        }
                        for i, (product, price) in enumerate(zip(lines, prices, strict=True), 1)
                    ]
                    if user == BENCH_USER:
                        mine.append(str(order_id))
                await conn.execute(insert(orders), order_rows)
                await conn.execute(insert(order_items), item_rows)
    finally:
        await engine.dispose()
    return mine


async def explain_queries(
    orders_db: str, products_db: str, order_id: str, product_ids: Sequence[str]
) -> dict[str, Any]:
    """Run the real query handlers once, record each SQL statement, EXPLAIN ANALYZE it."""
    from orders.adapters.db.queries import SqlOrderQueries
    from orders.application.queries import GetOrder, ListUserOrders
    from products.facade import ProductsFacade
    from servicekit.db import session_factory

    captured: list[tuple[str, Any]] = []

    def capture(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        captured.append((statement, parameters))

    event.listen(Engine, "before_cursor_execute", capture)
    engine = create_async_engine(orders_db)
    facade = ProductsFacade.from_database_url(products_db)
    await facade.start(run_sweeper=False)
    queries = SqlOrderQueries(session_factory(engine))
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
        conn = await asyncpg.connect(
            make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        )
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


async def scaling(args: argparse.Namespace) -> dict[str, Any]:
    dbs = Databases(os.environ.get("TEST_DATABASE_URL") or DEFAULT_DATABASE_URL)
    keys = Secrets(tuning=tuning(args))
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
            run_cli("products.entrypoints.cli", "migrate", env={"APP_DATABASE_URL": products_db})
            run_cli(
                "orders.entrypoints.cli",
                "migrate",
                env={"APP_DATABASE_URL": orders_db, "APP_PRODUCTS_CLIENT": "http"},
            )
            products = products_server(f"products-{size}", products_db, keys)
            with running([products]):
                catalogue = load_catalogue(products, keys, products_count)
            mine = await load_history(orders_db, catalogue, history)
            await dbs.vacuum_analyze(products_db)
            await dbs.vacuum_analyze(orders_db)
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
                token=token,
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


def ensure_wrk() -> None:
    if shutil.which("wrk"):
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("wrk not found; installing it with apt-get", flush=True)
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=True)  # noqa: S607
        return
    sys.exit(
        "wrk is not installed. Install it first, e.g. `sudo apt-get install -y wrk` "
        "(Debian/Ubuntu) or `brew install wrk` (macOS), then run `just bench` again."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=4.0, help="duration of each cell")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--products", type=int, default=50, help="catalogue size")
    parser.add_argument("--no-profile", action="store_true", help="skip the py-spy run")
    parser.add_argument("--profile-seconds", type=float, default=6.0)
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument(
        "--env", action="append", default=[], metavar="APP_X=V", help="setting for every service"
    )
    parser.add_argument("--scaling", action="store_true", help="run the scaling check instead")
    parser.add_argument("--history", type=int, default=2_000, help="orders (small scaling set)")
    parser.add_argument(
        "--large-products", type=int, default=5_000, help="catalogue of the large scaling set"
    )
    parser.add_argument("--rounds", type=int, default=5, help="scaling: interleaved rounds")
    parser.add_argument("--scaling-seconds", type=float, default=2.0)
    # c=1: p50 is the per-request cost, not queueing behind other requests on 2 cores.
    parser.add_argument("--scaling-concurrency", type=int, default=1)
    args = parser.parse_args()
    ensure_wrk()
    RESULTS.mkdir(parents=True, exist_ok=True)
    if args.scaling:
        report = asyncio.run(scaling(args))
        out = RESULTS / "scaling.json"
    else:
        report = asyncio.run(main_matrix(args))
        out = RESULTS / "bench.json"
    out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
