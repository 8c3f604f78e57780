"""The Grafana dashboard in deploy/grafana: its panels' PromQL and the metric families it reads."""

import json
import re
from pathlib import Path
from typing import Any

from tests.support.processes import ROOT

DASHBOARD = ROOT / "deploy" / "grafana" / "cutover.json"
_METRIC = re.compile(r"\b(orders_[a-z0-9_]+)")
# Sample-name suffixes PromQL uses; the family is the name without them.
_SUFFIXES = ("_bucket", "_count", "_sum", "_total")


def load(path: Path = DASHBOARD) -> dict[str, Any]:
    """The dashboard JSON."""
    dashboard: dict[str, Any] = json.loads(path.read_text())
    return dashboard


def queries(dashboard: dict[str, Any]) -> list[str]:
    """Every target's PromQL, panel by panel."""
    return [
        target["expr"]
        for panel in dashboard["panels"]
        if panel["type"] != "row"
        for target in panel["targets"]
    ]


def family(name: str) -> str:
    """``orders_x_bucket`` → ``orders_x``; ``orders_y_total`` → ``orders_y`` (parser's names)."""
    for suffix in _SUFFIXES:
        if name.endswith(suffix):
            return name.removesuffix(suffix)
    return name


def metric_families(dashboard: dict[str, Any]) -> set[str]:
    """The metric families the dashboard's PromQL reads."""
    return {family(name) for expr in queries(dashboard) for name in _METRIC.findall(expr)}
