"""Migrations run once per release: one Job per database, never from serving pods."""

import re

from deploy.k8s_check.objects import (
    app_containers,
    environment,
    of_kind,
    secret_refs,
    workloads,
)
from deploy.k8s_check.render import Obj, ref

# A Job name that carries the release becomes a label value of its pods: at most 63 characters.
_JOB_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$")


def _migrated_databases(objects: list[Obj], job: Obj, problems: list[str]) -> list[str]:
    """The database Secrets a migration Job's container upgrades (``orders migrate`` in
    local mode also upgrades the products database)."""
    databases = []
    for container, image in app_containers(job):
        if container.get("args", [])[-2:] != [image.package, "migrate"]:
            continue
        env = environment(objects, container, problems, ref(job))
        secrets = secret_refs(container)
        databases.append(secrets.get("APP_DATABASE_URL", "APP_DATABASE_URL unset"))
        if image.package == "orders" and env.get("APP_PRODUCTS_CLIENT", "local") == "local":
            databases.append(
                secrets.get("APP_PRODUCTS_DATABASE_URL", "APP_PRODUCTS_DATABASE_URL unset")
            )
    return databases


def job_problems(job: Obj) -> list[str]:
    """One pod at a time, once, named after the release it migrates to."""
    spec, name = job["spec"], job["metadata"]["name"]
    problems = []
    if spec.get("parallelism", 1) != 1 or spec.get("completions", 1) != 1:
        problems.append(f"{ref(job)}: migrations must run in one pod, once")
    if spec["template"]["spec"].get("restartPolicy") not in {"Never", "OnFailure"}:
        problems.append(f"{ref(job)}: restartPolicy must be Never or OnFailure")
    tags = {
        str(c.get("image", "")).rsplit(":", 1)[-1]
        for c, _ in app_containers(job)
        if ":" in str(c.get("image", "")).rsplit("/", 1)[-1]
    }
    if not tags:
        problems.append(f"{ref(job)}: its image has no release tag")
    elif not any(name.endswith(f"-{tag}") for tag in tags):
        problems.append(f"{ref(job)}: the name does not carry the release tag {sorted(tags)}")
    if not _JOB_NAME.match(name):
        problems.append(f"{ref(job)}: not a valid Job name for a release (<= 63, lowercase)")
    return problems


def check(objects: list[Obj]) -> list[str]:
    """Each database is migrated by exactly one Job; every Job of ours is a migration."""
    problems: list[str] = []
    migrated: dict[str, list[str]] = {}
    for job in of_kind(objects, "Job"):
        if not any(True for _ in app_containers(job)):
            continue
        databases = _migrated_databases(objects, job, problems)
        if not databases:
            problems.append(f"{ref(job)}: runs none of the services' migrate commands")
        for database in databases:
            migrated.setdefault(database, []).append(ref(job))
        problems += job_problems(job)
    used: set[str] = set()
    for workload in workloads(objects):
        if workload["kind"] == "Deployment":
            for container, _ in app_containers(workload):
                secrets = secret_refs(container)
                used |= {
                    secrets[k]
                    for k in ("APP_DATABASE_URL", "APP_PRODUCTS_DATABASE_URL")
                    if k in secrets
                }
    for database in sorted(used | set(migrated)):
        jobs = migrated.get(database, [])
        if len(jobs) != 1:
            problems.append(f"database {database}: migrated by {len(jobs)} Jobs {jobs}, not one")
    return problems
