"""Shadow-mode helpers of the seam's own tests: a shadowed inventory, its counts and log lines."""

import logging
from collections.abc import Mapping

import pytest

from libs.seam.tests.inventory import COMPARER, COMPARISONS, METHODS, METRICS, Inventory, metric
from seam import Shadow, client, compose, on

SHADOW_LOGGER = "seam.shadow"
LEVELS = {"mug": 5}


def count(method: str, result: str) -> float:
    """The comparisons of ``method`` that ended with ``result`` so far."""
    return metric(COMPARISONS, method=method, result=result)


def view(shadow: Shadow, primary: Inventory, rate: float = 1.0) -> Inventory:
    """``primary`` behind the shadow link at ``rate``: what shadow mode serves."""
    shadowed: Inventory = client(METHODS, compose([shadow.at(rate)], on(primary)), "Shadowed")
    return shadowed


def shadowed(
    primary: Inventory,
    candidate: Inventory,
    timeout: float,
    *,
    rate: float = 1.0,
    max_in_flight: int = 100,
    rereads: int = 2,
) -> tuple[Inventory, Shadow]:
    """``primary`` shadowed by ``candidate`` at ``rate``, and the comparisons' state."""
    shadow = Shadow(
        on(candidate), COMPARER, METRICS, timeout, max_in_flight=max_in_flight, rereads=rereads
    )
    return view(shadow, primary, rate), shadow


def records(caplog: pytest.LogCaptureFixture, result: str) -> list[logging.LogRecord]:
    """The comparison log lines with ``result``."""
    return [r for r in caplog.records if getattr(r, "shadow_result", None) == result]


def counts(method: str, *results: str) -> Mapping[str, float]:
    """``count`` of each of ``results``."""
    return {result: count(method, result) for result in results}
