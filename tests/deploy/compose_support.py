"""Helpers the compose tests share: a parsed docker-compose.yml and its mutation."""

import copy
from collections.abc import Callable
from typing import Any

from deploy.compose_check import ENV_EXAMPLE, ROOT, check

Compose = dict[str, Any]
Mutation = Callable[[Compose], None]


def problems_after(compose: Compose, mutate: Mutation) -> list[str]:
    """What the checker reports about a mutated copy of ``compose``."""
    mutated = copy.deepcopy(compose)
    mutate(mutated)
    return check(mutated, ROOT, ENV_EXAMPLE)


def service_env(compose: Compose, service: str) -> dict[str, Any]:
    """The ``environment`` mapping of one compose service."""
    environment: dict[str, Any] = compose["services"][service]["environment"]
    return environment
