"""Read committed versions of a file from git, for the API and event compatibility gates.

See docs/adr/0006-openapi-gate.md for why both the baseline (merge-base with
``origin/main``, else ``HEAD``) and ``HEAD~1`` are compared.
"""

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def git(*args: str) -> str | None:
    """Output of a git command in the repository, or ``None`` if it fails."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed: cannot read the committed baseline")
    result = subprocess.run(
        ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False, timeout=30
    )
    return result.stdout if result.returncode == 0 else None


def require_repository() -> None:
    """Skip (visibly) outside a git checkout."""
    if git("rev-parse", "--is-inside-work-tree") is None:
        pytest.skip("not a git checkout: cannot read the committed baseline")


def committed_at(revision: str, path: Path) -> dict[str, Any] | None:
    """The JSON document committed at ``path`` in ``revision``, if there is one."""
    text = git("show", f"{revision}:{path.relative_to(ROOT).as_posix()}")
    if text is None:
        return None
    document: dict[str, Any] = json.loads(text)
    return document


def baseline_revision() -> str:
    """The merge-base with ``origin/main`` when that ref exists, else ``HEAD``."""
    if git("rev-parse", "--verify", "--quiet", "origin/main") is not None:
        merge_base = git("merge-base", "HEAD", "origin/main")
        if merge_base:
            return merge_base.strip()
    return "HEAD"
