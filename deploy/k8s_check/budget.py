"""The connection budget: every pod at the autoscaler's maximum stays under max_connections.

Connections per process are each engine's ``pool_size + max_overflow``. The
engines a process opens (``<package>.main``): products one, on its database;
orders one on its own database, one more on products' in local, shadow and canary
mode (the in-process facade), one more on a read replica if
``APP_READ_DATABASE_URL`` is set (counted here too, as if the replica were
the same server). ``orders worker`` (one process per pod) opens the same
engines as the API in its mode. One server is assumed to hold both databases, as in
compose; separate servers only make the check conservative.
``services/orders/tests/integration/test_connection_budget.py`` measures the
local-mode bound on PostgreSQL under a burst.
"""

import importlib
import math
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from deploy.k8s_check.objects import (
    app_containers,
    environment,
    is_worker,
    named,
    of_kind,
    workloads,
)
from deploy.k8s_check.render import Obj, ref
from deploy.k8s_check.topology import hpa_for
from servicekit.settings import ServiceSettings

LIMITS_CONFIG_MAP = "database-limits"
# A migration Job holds one connection while it runs (alembic, one at a time).
CONNECTIONS_PER_MIGRATION = 1


@dataclass(frozen=True, slots=True)
class Demand:
    """What one Deployment can hold at its peak."""

    name: str
    pods: int
    workers: int
    engines: int
    per_engine: int

    @property
    def connections(self) -> int:
        """pods x workers x engines x (pool + overflow)."""
        return self.pods * self.workers * self.engines * self.per_engine

    def __str__(self) -> str:
        return (
            f"{self.name}: {self.pods} pods x {self.workers} workers x {self.engines} engines "
            f"x {self.per_engine} = {self.connections}"
        )


def _settings(package: str, env: dict[str, str], *, offline: bool) -> ServiceSettings:
    # The worker authenticates no one and is given no auth secrets (pods.py).
    config = importlib.import_module(f"{package}.config")
    cls: type[ServiceSettings] = config.OfflineSettings if offline else config.Settings
    prefix = str(cls.model_config.get("env_prefix", ""))
    values: dict[str, Any] = {
        field: env[f"{prefix}{field}".upper()]
        for field in cls.model_fields
        if f"{prefix}{field}".upper() in env
    }
    return cls(_env_file=None, **values)


def peak_pods(objects: list[Obj], deployment: Obj) -> int:
    """The HPA's maximum (else the replicas) plus the rolling update's surge."""
    hpa = hpa_for(objects, deployment)
    replicas = int(hpa["spec"]["maxReplicas"] if hpa else deployment["spec"].get("replicas", 1))
    strategy = deployment["spec"].get("strategy", {})
    surge: int | str = 0
    if strategy.get("type", "RollingUpdate") == "RollingUpdate":
        surge = strategy.get("rollingUpdate", {}).get("maxSurge", "25%")
    extra = math.ceil(replicas * int(surge[:-1]) / 100) if isinstance(surge, str) else int(surge)
    return replicas + extra


def demand(objects: list[Obj], deployment: Obj, problems: list[str]) -> Demand | None:
    """The connections one Deployment can open, or None if it runs none of our images."""
    for container, image in app_containers(deployment):
        env = environment(objects, container, problems, ref(deployment))
        try:
            settings = _settings(image.package, env, offline=is_worker(container))
        except ValidationError:
            return None  # reported by the settings check
        serving = not is_worker(container)  # `orders worker` is one process per pod
        if serving and "workers" in type(settings).model_fields and "APP_WORKERS" not in env:
            problems.append(
                f"{ref(deployment)}: APP_WORKERS is not set (its default follows the node)"
            )
        workers = int(getattr(settings, "workers", None) or 1) if serving else 1
        engines = 1
        if image.package == "orders":
            engines += env.get("APP_PRODUCTS_CLIENT", "local") in {"local", "shadow", "canary"}
            engines += "APP_READ_DATABASE_URL" in env
        per_engine = int(settings.db_pool_size) + int(settings.db_max_overflow)
        return Demand(ref(deployment), peak_pods(objects, deployment), workers, engines, per_engine)
    return None


@dataclass(frozen=True, slots=True)
class Budget:
    """Every Deployment at its peak, the migration Jobs, and what the server allows."""

    demands: list[Demand]
    migrations: int
    available: int

    @property
    def total(self) -> int:
        """Connections at the peak."""
        return sum(d.connections for d in self.demands) + self.migrations


def budget(objects: list[Obj], problems: list[str]) -> Budget | None:
    """The connection budget of one overlay, or None without the database limits."""
    limits = named(objects, "ConfigMap", LIMITS_CONFIG_MAP)
    if limits is None:
        problems.append(
            f"ConfigMap/{LIMITS_CONFIG_MAP}: missing; the connection budget cannot be checked"
        )
        return None
    available = int(limits["data"]["max_connections"]) - int(
        limits["data"].get("superuser_reserved_connections", "3")
    )
    demands = [
        d for w in of_kind(objects, "Deployment") if (d := demand(objects, w, problems)) is not None
    ]
    migrations = sum(
        CONNECTIONS_PER_MIGRATION
        for job in workloads(objects)
        if job["kind"] == "Job" and any(True for _ in app_containers(job))
    )
    return Budget(demands, migrations, available)


def check(objects: list[Obj]) -> list[str]:
    """Problems with the budget (and the arithmetic when it is exceeded)."""
    problems: list[str] = []
    found = budget(objects, problems)
    if found is not None and found.total >= found.available:
        problems.append(
            f"connection budget: {found.total} >= {found.available} available "
            f"({'; '.join(map(str, found.demands))}; migrations {found.migrations})"
        )
    return problems
