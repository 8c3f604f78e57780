"""Detect breaking changes between two AsyncAPI documents of integration events.

A consumer built against ``old`` reads messages produced under ``new``, so
every message payload is compared like an API *response*
(``scripts.openapi_compat``'s rules): a message removed, a field removed or
retyped, a field that was always present becoming optional, or an enum gaining
a value breaks it. A new optional field (or a new message) does not.
"""

import sys
from collections.abc import Mapping
from typing import Any

from scripts.openapi_compat import compare_files, schema_breaking_changes


def _messages(document: Mapping[str, Any]) -> Mapping[str, Any]:
    messages: Mapping[str, Any] = document.get("components", {}).get("messages", {})
    return messages


def breaking_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Every change in ``new`` that can break a consumer written against ``old``."""
    problems: list[str] = []
    new_messages = _messages(new)
    for name, message in _messages(old).items():
        if name not in new_messages:
            problems.append(f"message {name}: removed")
            continue
        problems.extend(
            schema_breaking_changes(
                message.get("payload", {}),
                new_messages[name].get("payload", {}),
                f"message {name}",
                "response",
                old,
                new,
            )
        )
    return problems


def main(argv: list[str]) -> int:
    """``python -m scripts.asyncapi_compat OLD.json NEW.json``: exit 1 on breaking changes."""
    return compare_files(argv, "scripts.asyncapi_compat", breaking_changes)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
