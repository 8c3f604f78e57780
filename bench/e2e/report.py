"""The markdown tables the run prints, and the facts about the machine it ran on."""

import os
import platform
import subprocess
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.e2e.load import Cell, wrk_path


def table(cells: Sequence[Cell]) -> str:
    """Every measured cell, one row each."""
    lines = [
        "| scenario | target | c | requests | errors | req/s | p50 ms | p95 ms | p99 ms "
        "| CPU ms/req app | CPU ms/req products | machine busy % |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    order = {"ceiling": 0, "anchor": 1, "read": 2, "write": 3}
    for cell in sorted(cells, key=lambda c: (order.get(c.scenario, 9), c.target, c.concurrency)):
        lines.append(
            f"| {cell.scenario} | {cell.target} | {cell.concurrency} | {cell.requests:,} "
            f"| {cell.errors} | {cell.rps:,.0f} | {cell.p50_ms:.2f} | {cell.p95_ms:.2f} "
            f"| {cell.p99_ms:.2f} | {_ms(cell.cpu_ms_per_req)} | {_ms(cell.products_cpu_ms_per_req)} "
            f"| {_pct(cell.machine_busy_pct)} |"
        )
    return "\n".join(lines)


def _ms(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value:.0f}"


def checks_table(checks: Sequence[dict[str, Any]]) -> str:
    """Ratios against their targets (met: yes / **no**; context rows have none).

    "rounds" is a paired ratio's min-max over rounds (its value is the median);
    a ratio without it divides two cells measured apart.
    """
    lines = [
        "| c | check | value | rounds (min-max) | target | met |",
        "|---:|---|---:|---|---|---|",
    ]
    for check in checks:
        value = check["value"]
        shown = f"{value:,.2f}" if isinstance(value, float) else str(value)
        met = {True: "yes", False: "**no**", None: ""}[check["met"]]
        lines.append(
            f"| {check['concurrency']} | {check['check']} | {shown} | {check.get('rounds', '')} "
            f"| {check['target']} | {met} |"
        )
    return "\n".join(lines)


def paired_table(pairs: Sequence[dict[str, Any]]) -> str:
    """Every pair measured in rounds: median ratio and min-max over rounds, req/s and CPU."""
    lines = [
        "| c | pair | rounds | req/s ratio | req/s min-max | CPU capacity ratio | CPU min-max |",
        "|---:|---|---:|---:|---|---:|---|",
    ]
    for pair in pairs:
        rps, rps_lo, rps_hi = pair["rps_ratio"]
        cpu, cpu_lo, cpu_hi = pair["cpu_capacity_ratio"]
        lines.append(
            f"| {pair['concurrency']} | {pair['pair']} | {pair['rounds']} | {rps:.2f} "
            f"| {rps_lo:.2f}-{rps_hi:.2f} | {cpu:.2f} | {cpu_lo:.2f}-{cpu_hi:.2f} |"
        )
    return "\n".join(lines)


def anchor_table(rows: Sequence[dict[str, Any]]) -> str:
    """Every orders row as a ratio to the matching anchor rows (basis: paired, via local, apart)."""
    lines = [
        "| scenario | target | c | req/s | / anchor SQLAlchemy | / anchor asyncpg "
        "| CPU capacity / anchor SQLAlchemy | basis |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for row in sorted(rows, key=lambda r: (r["scenario"], r["target"], r["concurrency"])):
        lines.append(
            f"| {row['scenario']} | {row['target']} | {row['concurrency']} | {row['rps']:,.0f} "
            f"| {row['vs_sqlalchemy']:.2f} | {row['vs_asyncpg']:.2f} "
            f"| {row['cpu_vs_sqlalchemy']:.2f} | {row.get('basis', '')} |"
        )
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    """CPU, memory, platform and the versions of the stack."""
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
