"""Start-to-ready time of each service as ``just dev`` starts it.

Uses the dev runner's own plan (``deploy.dev``): SQLite files in a temporary
folder, migrated and seeded once, then each service's uvicorn command started
``--runs`` times. The clock runs from process start until ``/health/ready``
answers 200 (polled every 20 ms); the process's CPU time at that moment is
printed beside it, since on a shared machine wall time includes waiting for
a core. Products is measured first; orders (http
mode) is measured while one products process serves, as under ``just dev``.

``--no-bytecode`` reproduces a start without compiled bytecode (what
``PYTHONDONTWRITEBYTECODE=1`` with a fresh install meant: every start compiles
every imported module) by pointing the bytecode cache at an empty folder.

    just bench-startup [--runs 5] [--no-bytecode]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from deploy.dev import Child, Options, Service, plan, prepare, start, stop_all
from servicekit.processes import free_port, is_ready

_POLL_SECONDS = 0.02


def _cpu_seconds(pid: int) -> float:
    """User + system CPU the process has used so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _start_and_time(service: Service, timeout: float = 60.0) -> tuple[Child, float, float]:
    began = time.perf_counter()
    child = start(service)
    while not is_ready(service.url):
        if child.process.poll() is not None:
            raise SystemExit(f"{service.package} exited with {child.process.returncode}")
        if time.perf_counter() - began > timeout:
            stop_all([child], 5.0)
            raise SystemExit(f"{service.package} not ready after {timeout:.0f} s")
        time.sleep(_POLL_SECONDS)
    return child, time.perf_counter() - began, _cpu_seconds(child.process.pid)


def _measure(service: Service, runs: int) -> list[tuple[float, float]]:
    """(wall seconds, CPU seconds) from process start to ready, once per run."""
    times = []
    for _ in range(runs):
        child, elapsed, cpu = _start_and_time(service)
        stop_all([child], 5.0)
        times.append((elapsed, cpu))
    return times


def _with_env(service: Service, extra: Mapping[str, str]) -> Service:
    return replace(service, env={**service.env, **extra})


def main() -> int:
    """Measure and print one line per service."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-bytecode", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="startup-") as tmp:
        options = Options(
            mode="http",
            host="127.0.0.1",
            products_port=free_port(),
            orders_port=free_port(),
            # Not served: keys are fetched on the first token, after readiness.
            jwks_port=free_port(),
            data_dir=Path(tmp) / "data",
            ready_timeout=60.0,
            stop_timeout=5.0,
        )
        environ = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        products, orders = plan(options, environ)
        prepare(products, orders, options)
        if args.no_bytecode:
            cache = {"PYTHONDONTWRITEBYTECODE": "1", "PYTHONPYCACHEPREFIX": f"{tmp}/pycache"}
            products, orders = _with_env(products, cache), _with_env(orders, cache)
        results = {"products": _measure(products, args.runs)}
        serving, _, _ = _start_and_time(products)
        try:
            results["orders"] = _measure(orders, args.runs)
        finally:
            stop_all([serving], 5.0)
    mode = "no bytecode" if args.no_bytecode else "compiled bytecode"
    print(f"start-to-ready, {args.runs} runs, {mode}, python {sys.version.split()[0]}")
    for name, runs in results.items():
        wall = [w for w, _ in runs]
        cpu = [c for _, c in runs]
        print(
            f"  {name:<9} wall median {statistics.median(wall):.2f} s"
            f" (min {min(wall):.2f}, max {max(wall):.2f});"
            f" CPU median {statistics.median(cpu):.2f} s (min {min(cpu):.2f}, max {max(cpu):.2f})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
