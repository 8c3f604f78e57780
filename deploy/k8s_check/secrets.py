"""No secret value in a committed manifest: Secrets are referenced, never written."""

import re

from deploy.k8s_check.objects import containers, of_kind, workloads
from deploy.k8s_check.render import Obj, ref

# Names whose values are secrets (a database URL carries its password).
_SECRET_NAME = re.compile(
    r"(SECRET|TOKEN|CALLERS|PASSWORD|API_KEY|DATABASE_URL|RABBITMQ_URL|BROKER_URL)$"
)
_CREDENTIALS_IN_URL = re.compile(r"://[^/\s:@]+:[^/\s@]+@")


def check(objects: list[Obj]) -> list[str]:
    """Secrets in the output, secret-named env values or ConfigMap keys, passwords in URLs."""
    problems = [
        f"{ref(obj)}: a Secret is part of the manifests (create it in the cluster instead)"
        for obj in of_kind(objects, "Secret")
    ]
    for config_map in of_kind(objects, "ConfigMap"):
        for key, value in config_map.get("data", {}).items():
            if _SECRET_NAME.search(key.upper()) or _CREDENTIALS_IN_URL.search(str(value)):
                problems.append(f"{ref(config_map)}: {key} holds a secret; use a Secret reference")
    for workload in workloads(objects):
        for container in containers(workload):
            for entry in container.get("env", []):
                if "value" not in entry:
                    continue
                if _SECRET_NAME.search(entry["name"]) or _CREDENTIALS_IN_URL.search(
                    str(entry["value"])
                ):
                    problems.append(
                        f"{ref(workload)}[{container.get('name')}]: {entry['name']} is written in "
                        "the manifest; take it from a Secret"
                    )
    return problems
