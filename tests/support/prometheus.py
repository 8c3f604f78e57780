"""A Prometheus of the test's own: Debian's binary on a free port, scraping the given targets.

Never the package's service (port 9090, /var/lib/prometheus): a generated config and
data folder under the test's tmp dir, so parallel workers and a system Prometheus
do not collide. Skipped when the binary is missing, unless ``REQUIRE_PROMETHEUS=1``
(CI; ``.ci/run`` installs Debian's ``prometheus`` package).
"""

import os
import shutil
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from servicekit.processes import ServerProcess, base_url, free_port

HOST = "127.0.0.1"
SCRAPE_SECONDS = 1


def binary() -> str:
    """The prometheus executable (skips, or fails under REQUIRE_PROMETHEUS=1, without one)."""
    found = shutil.which("prometheus")
    if found:
        return found
    reason = "prometheus is not installed (Debian: apt-get install -y prometheus)"
    if os.environ.get("REQUIRE_PROMETHEUS") == "1":
        pytest.fail(f"REQUIRE_PROMETHEUS=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def config(jobs: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """Scrape every ``host:port`` of each job every second."""
    return {
        "global": {
            "scrape_interval": f"{SCRAPE_SECONDS}s",
            "evaluation_interval": f"{SCRAPE_SECONDS}s",
        },
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": list(targets)}]}
            for job, targets in jobs.items()
        ],
    }


@contextmanager
def running_prometheus(jobs: Mapping[str, Sequence[str]], directory: Path) -> Iterator[str]:
    """Start Prometheus scraping ``jobs`` (job → ``host:port`` targets); yield its URL."""
    executable = binary()
    directory.mkdir(parents=True, exist_ok=True)
    config_file = directory / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(config(jobs)))
    port = free_port(HOST)
    server = ServerProcess(
        name="prometheus",
        command=[
            executable,
            f"--config.file={config_file}",
            f"--storage.tsdb.path={directory / 'data'}",
            f"--web.listen-address={HOST}:{port}",
            "--log.level=warn",
        ],
        url=base_url(HOST, port),
        log_path=directory / "prometheus.log",
        ready_path="/-/ready",
    ).start()
    try:
        server.wait_ready(60)
        yield server.url
    finally:
        server.stop(timeout=10)


def query(url: str, expression: str) -> list[dict[str, Any]]:
    """An instant query's vector."""
    response = httpx.get(f"{url}/api/v1/query", params={"query": expression}, timeout=10)
    response.raise_for_status()
    result: list[dict[str, Any]] = response.json()["data"]["result"]
    return result


def scraped_after(url: str, job: str, targets: int, since: float, timeout: float = 30) -> None:
    """Wait until every target of ``job`` was scraped (and up) after ``since`` (epoch s)."""
    # timestamp() of the raw selector: when each target was last scraped (after a
    # comparison it would be the evaluation time).
    when = f'timestamp(up{{job="{job}"}})'
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        scraped = [s for s in query(url, when) if float(s["value"][1]) > since]
        up = [s for s in query(url, f'up{{job="{job}"}}') if s["value"][1] == "1"]
        if len(scraped) == targets and len(up) == targets:
            return
        time.sleep(0.2)
    raise AssertionError(f"Prometheus did not scrape {targets} {job} target(s) within {timeout}s")
