"""``python -m deploy.envfile``: write deploy/.env from the example, with fresh secrets.

Every ``KEY=`` line left empty in ``deploy/.env.example`` gets a random,
URL-safe value (it ends up inside database URLs); everything else is copied.
An existing ``deploy/.env`` is never overwritten.
"""

import re
import secrets
import sys
from collections.abc import Callable
from pathlib import Path

DEPLOY = Path(__file__).resolve().parent
EXAMPLE = DEPLOY / ".env.example"
TARGET = DEPLOY / ".env"

_EMPTY_ASSIGNMENT = re.compile(r"^(?P<key>[A-Z][A-Z0-9_]*)=\s*$")


def new_secret() -> str:
    """43 URL-safe characters (256 bits)."""
    return secrets.token_urlsafe(32)


def render(example: str, secret: Callable[[], str] = new_secret) -> str:
    """The example with each empty assignment filled by a new secret."""
    lines = []
    for line in example.splitlines():
        match = _EMPTY_ASSIGNMENT.match(line)
        lines.append(f"{match['key']}={secret()}" if match else line)
    return "\n".join(lines) + "\n"


def write(example: Path = EXAMPLE, target: Path = TARGET) -> bool:
    """Create ``target`` (mode 0600) unless it exists; True when written."""
    if target.exists():
        return False
    target.touch(mode=0o600)
    target.write_text(render(example.read_text()))
    return True


def main() -> int:
    """Entry point; returns the process exit status."""
    if write():
        print(f"wrote {TARGET} with fresh secrets")
    else:
        print(f"{TARGET} exists; left unchanged", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
