"""py-spy samples of the processes under load, summarised by package and leaf function."""

import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.e2e.load import measure
from bench.e2e.paths import RESULTS
from bench.e2e.servers import Server, Target


def py_spy() -> str | None:
    """py-spy's path (a dev dependency of the workspace), if installed."""
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


def print_profile(profiled: dict[str, Any]) -> None:
    """The summaries, one block per profiled process."""
    for run, processes in profiled.items():
        for name, summary in processes.items():
            if name == "load" or not isinstance(summary, dict):
                continue
            samples = summary.get("samples", 0)
            print(f"\npy-spy {run} {name}: {samples} samples {summary.get('error', '')}")
            for key in ("inclusive_pct", "self_pct", "top_leaves_pct"):
                print(f"  {key}: " + ", ".join(f"{k} {v}%" for k, v in summary.get(key, [])))
