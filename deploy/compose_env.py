"""Compose variables: ``${...}`` interpolation, env files, and each service's environment."""

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

Service = Mapping[str, Any]

_INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Za-z_]\w*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}")
_PLACEHOLDER_SECRET = "x" * 48  # long enough for production's secret checks


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of a dotenv file (comments and blanks ignored)."""
    pairs = {}
    for line in path.read_text().splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key and not key.startswith("#"):
            pairs[key.strip()] = value.strip().strip("'\"")
    return pairs


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, Mapping):
        for key, value in node.items():
            yield from _strings(key)
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


def interpolated_names(compose: Mapping[str, Any]) -> set[str]:
    """Every variable the file interpolates (``$${...}`` escapes excluded)."""
    return {
        match["name"]
        for text in _strings(compose)
        for match in _INTERPOLATION.finditer(text.replace("$$", ""))
    }


def interpolate(text: str, variables: Mapping[str, str]) -> str:
    """Resolve ``${VAR}``, ``${VAR:-default}``, ``${VAR:?error}`` as compose would.

    Unset required variables become a long placeholder, so the values can be
    validated without real secrets.
    """

    def replace(match: re.Match[str]) -> str:
        value = variables.get(match["name"], "")
        if value:
            return value
        op = match["op"] or ""
        return match["arg"] if op.endswith("-") else _PLACEHOLDER_SECRET

    return _INTERPOLATION.sub(replace, text.replace("$$", "\0")).replace("\0", "$")


def env_example_problems(compose: Mapping[str, Any], example: Path) -> list[str]:
    """Variables the file interpolates that the example env file does not document."""
    if not example.is_file():
        return [f"env: {example} is missing"]
    documented = read_env_file(example)
    return [
        f"env: ${{{name}}} is used by the compose file but not listed in {example.name}"
        for name in sorted(interpolated_names(compose) - documented.keys())
    ]


def _env_files(service: Service, project_dir: Path) -> Iterator[tuple[Path, bool]]:
    entries = service.get("env_file", [])
    for entry in [entries] if isinstance(entries, str) else entries:
        if isinstance(entry, str):
            yield project_dir / entry, True
        else:
            yield project_dir / entry["path"], bool(entry.get("required", True))


def service_environment(
    name: str, service: Service, project_dir: Path, problems: list[str]
) -> dict[str, str]:
    """``env_file`` contents (or their ``.example``, for git-ignored files) + ``environment``."""
    env: dict[str, str] = {}
    for path, required in _env_files(service, project_dir):
        candidate = path if path.is_file() else path.with_name(path.name + ".example")
        if candidate.is_file():
            env.update(read_env_file(candidate))
        elif required:
            problems.append(f"{name}: env_file {path} does not exist")
    declared = service.get("environment", {})
    if isinstance(declared, list):
        declared = dict(item.split("=", 1) if "=" in item else (item, "") for item in declared)
    env.update({key: "" if value is None else str(value) for key, value in declared.items()})
    return env
