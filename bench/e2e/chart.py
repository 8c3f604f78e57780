"""The throughput-vs-concurrency chart (``docs/bench/throughput.png``)."""

import os
from collections.abc import Sequence
from pathlib import Path

from bench.e2e.analysis import (
    CANARY_ALL_LOCAL,
    CANARY_HALF,
    RABBITMQ,
    SAMPLED_SHADOW,
    TRACING,
    WORKERS,
    rps,
)
from bench.e2e.load import Cell
from bench.e2e.paths import PLOT


def plot(cells: Sequence[Cell], levels: Sequence[int], path: Path = PLOT) -> None:
    """Throughput against concurrency, read and write path (``docs/bench/throughput.png``).

    Only the rows measured are drawn.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (read_ax, write_ax) = plt.subplots(1, 2, figsize=(11, 4.5))
    series = {
        read_ax: [
            ("ceiling", "bare", "ceiling (bare FastAPI)"),
            ("anchor", "sa-read", "anchor: SQLAlchemy read, no app"),
            ("read", "local", "quote, local"),
            ("read", "http", "quote, http"),
            ("read", "shadow", "quote, shadow (every read mirrored)"),
            ("read", SAMPLED_SHADOW, "quote, shadow, 10 % of reads mirrored"),
            ("read", "naive", "quote, client per call"),
            ("read", WORKERS, "quote, local, 2 workers"),
            ("read", TRACING, "quote, local, tracing on"),
            ("read", CANARY_ALL_LOCAL, "quote, canary 0 % (router, all local)"),
            ("read", CANARY_HALF, "quote, canary 50 % of users on http"),
        ],
        write_ax: [
            ("anchor", "sa-write", "anchor: SQLAlchemy transaction, no app"),
            ("write", "local", "place order, local"),
            ("write", "http", "place order, http"),
            ("write", WORKERS, "place order, local, 2 workers"),
            ("write", RABBITMQ, "place order, local, events to RabbitMQ"),
            ("write", TRACING, "place order, local, tracing on"),
            ("write", CANARY_ALL_LOCAL, "place order, canary 0 % (router, all local)"),
            ("write", CANARY_HALF, "place order, canary 50 % of users on http"),
        ],
    }
    for ax, lines in series.items():
        for scenario, target, label in lines:
            if not any(c.scenario == scenario and c.target == target for c in cells):
                continue
            ax.plot(
                levels, [rps(cells, scenario, target, c) for c in levels], marker="o", label=label
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
    fig.suptitle(
        f"orders throughput, one uvicorn worker per process unless marked, {os.cpu_count()} CPUs"
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
