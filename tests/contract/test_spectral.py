"""Spectral's ``spectral:oas`` ruleset finds nothing in either committed OpenAPI document.

Spectral is an npm package: the test installs a pinned version into the user's
cache folder once (about 40 s), then reuses it. It skips, with the reason, only
where npm is missing.
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from scripts.export_openapi import SERVICES, committed_path

SPECTRAL_VERSION = "6.16.3"
_INSTALL_TIMEOUT_SECONDS = 600


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "shop" / f"spectral-cli-{SPECTRAL_VERSION}"


@pytest.fixture(scope="module")
def spectral() -> Path:
    """The spectral executable, installed from npm into the cache when missing."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed: spectral (an npm package) cannot be installed")
    prefix = _cache_dir()
    executable = prefix / "node_modules" / ".bin" / "spectral"
    if not executable.exists():
        subprocess.run(
            [
                npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund",
                "--loglevel=error", f"@stoplight/spectral-cli@{SPECTRAL_VERSION}",
            ],
            check=True,
            timeout=_INSTALL_TIMEOUT_SECONDS,
        )  # fmt: skip
    return executable


def test_spectral_oas_ruleset_reports_nothing(spectral: Path, tmp_path: Path) -> None:
    ruleset = tmp_path / ".spectral.yaml"
    ruleset.write_text('extends: ["spectral:oas"]\n')
    documents = [str(committed_path(service)) for service in sorted(SERVICES)]

    result = subprocess.run(
        [str(spectral), "lint", "--ruleset", str(ruleset), "--format", "json", "--quiet",
         *documents],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )  # fmt: skip

    findings = json.loads(result.stdout)
    assert findings == [], json.dumps(findings, indent=1)
    assert result.returncode == 0, result.stderr
