"""Read the few facts the compose checker needs out of a Dockerfile."""

import fnmatch
import json
import re
import shlex
from dataclasses import dataclass, field, replace
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Dockerfile:
    """ENV values, EXPOSEd ports, COPY sources, HEALTHCHECK commands, the user it runs as."""

    env: dict[str, str] = field(default_factory=dict)
    exposed: set[int] = field(default_factory=set)
    copy_sources: list[str] = field(default_factory=list)
    healthchecks: list[str] = field(default_factory=list)
    # account name -> uid, from `useradd --uid N NAME`; `USER` of the last stage
    uids: dict[str, int] = field(default_factory=dict)
    user: str | None = None

    @property
    def uid(self) -> int | None:
        """The numeric user the image runs as, if the Dockerfile says."""
        if self.user is None:
            return None
        name = self.user.split(":")[0]
        return int(name) if name.isdigit() else self.uids.get(name)


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    result: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, arguments = (pending + line).partition(" ")
        result.append((keyword.upper(), arguments.strip()))
        pending = ""
    return result


def _env_pairs(arguments: str) -> dict[str, str]:
    tokens = shlex.split(arguments)
    if tokens and "=" not in tokens[0]:  # legacy form: ENV KEY value with spaces
        return {tokens[0]: " ".join(tokens[1:])}
    return dict(token.split("=", 1) for token in tokens if "=" in token)


def _copy_sources(arguments: str) -> list[str]:
    tokens = json.loads(arguments) if arguments.startswith("[") else shlex.split(arguments)
    flags = [t for t in tokens if t.startswith("--")]
    if any(flag.startswith("--from") for flag in flags):
        return []  # copies from another stage or image, not from the build context
    paths = [t for t in tokens if not t.startswith("--")]
    return [str(p) for p in paths[:-1]]


def _exposed(arguments: str) -> set[int]:
    return {int(p.split("/")[0]) for p in arguments.split() if p.split("/")[0].isdigit()}


def _useradd(arguments: str) -> dict[str, int]:
    found = re.search(r"\buseradd\b(?P<args>[^&;|]*)", arguments)
    if found is None:
        return {}
    tokens = shlex.split(found["args"])
    uid = next((t.split("=", 1)[1] for t in tokens if t.startswith("--uid=")), None)
    if "--uid" in tokens[:-1]:
        uid = tokens[tokens.index("--uid") + 1]
    return {tokens[-1]: int(uid)} if uid is not None and uid.isdigit() and tokens else {}


def parse(text: str) -> Dockerfile:
    """The facts of one Dockerfile (across all stages)."""
    parsed = Dockerfile()
    user: str | None = None
    for keyword, arguments in instructions(text):
        if keyword == "FROM":
            user = None  # each stage starts as root again
        elif keyword == "USER":
            user = arguments.split()[0]
        elif keyword == "RUN":
            parsed.uids.update(_useradd(arguments))
        elif keyword == "ENV":
            parsed.env.update(_env_pairs(arguments))
        elif keyword == "EXPOSE":
            parsed.exposed.update(_exposed(arguments))
        elif keyword in {"COPY", "ADD"}:
            parsed.copy_sources.extend(_copy_sources(arguments))
        elif keyword == "HEALTHCHECK" and " CMD " in f" {arguments} ":
            parsed.healthchecks.append(f" {arguments}".split(" CMD ", 1)[1])
    return replace(parsed, user=user)


def load(path: Path) -> Dockerfile:
    """Parse a Dockerfile on disk."""
    return parse(path.read_text())


def ignore_patterns(context: Path) -> list[str]:
    """The rules of ``<context>/.dockerignore`` (none when it is absent)."""
    path = context / ".dockerignore"
    if not path.is_file():
        return []
    lines = (line.strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def _matches(path: str, pattern: str) -> bool:
    pattern = pattern.strip("/")
    candidates = [pattern, pattern.removeprefix("**/")]
    parts = path.strip("/").split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    return any(fnmatch.fnmatchcase(p, c) for p in prefixes for c in candidates)


def is_ignored(path: str, patterns: list[str]) -> bool:
    """Whether the build context leaves ``path`` out (last matching rule wins, ``!`` re-includes)."""
    ignored = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        if _matches(path, pattern.removeprefix("!")):
            ignored = not negated
    return ignored
