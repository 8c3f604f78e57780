"""Spectral's ``spectral:oas`` and redocly's ``recommended`` rulesets find nothing in either document.

Both linters are npm packages: the tests install a pinned version into the
user's cache folder once (spectral about 40 s, redocly a few seconds), then
reuse it. They skip, with the reason, only where npm is missing.
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from scripts.export_openapi import SERVICES, committed_path

SPECTRAL_VERSION = "6.16.3"
REDOCLY_VERSION = "2.77.0"
_INSTALL_TIMEOUT_SECONDS = 600


def _npm_tool(package: str, version: str, executable: str, folder: str) -> Path:
    """``executable`` of ``package@version``, installed from npm into the cache when missing."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip(f"npm is not installed: {package} (an npm package) cannot be installed")
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    prefix = Path(base) / "shop" / f"{folder}-{version}"
    path = prefix / "node_modules" / ".bin" / executable
    if not path.exists():
        subprocess.run(
            [
                npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund",
                "--loglevel=error", f"{package}@{version}",
            ],
            check=True,
            timeout=_INSTALL_TIMEOUT_SECONDS,
        )  # fmt: skip
    return path


@pytest.fixture(scope="module")
def spectral() -> Path:
    """The spectral executable."""
    return _npm_tool("@stoplight/spectral-cli", SPECTRAL_VERSION, "spectral", "spectral-cli")


@pytest.fixture(scope="module")
def redocly() -> Path:
    """The redocly executable."""
    return _npm_tool("@redocly/cli", REDOCLY_VERSION, "redocly", "redocly-cli")


def _documents() -> list[str]:
    return [str(committed_path(service)) for service in sorted(SERVICES)]


def test_spectral_oas_ruleset_reports_nothing(spectral: Path, tmp_path: Path) -> None:
    ruleset = tmp_path / ".spectral.yaml"
    ruleset.write_text('extends: ["spectral:oas"]\n')

    result = subprocess.run(
        [str(spectral), "lint", "--ruleset", str(ruleset), "--format", "json", "--quiet",
         *_documents()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )  # fmt: skip

    findings = json.loads(result.stdout)
    assert findings == [], json.dumps(findings, indent=1)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("document", _documents(), ids=sorted(SERVICES))
def test_redocly_recommended_ruleset_reports_nothing(redocly: Path, document: str) -> None:
    # Warnings count too (security-defined, info-license, ...): "nothing" means nothing.
    env = {**os.environ, "REDOCLY_TELEMETRY": "off", "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true"}
    result = subprocess.run(
        [str(redocly), "lint", "--extends", "recommended", "--format", "json", document],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )

    report = json.loads(result.stdout)
    assert report["problems"] == [], json.dumps(report["problems"], indent=1)
    assert result.returncode == 0, result.stderr
