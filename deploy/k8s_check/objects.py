"""Reading rendered objects: workloads, their pods' labels, environment and images."""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from deploy import dockerfile
from deploy.dockerfile import Dockerfile
from deploy.k8s_check.render import ROOT, Obj, ref

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "Job")
# What a value taken from a Secret stands for when settings are validated: long
# enough for production's secret-length checks, and never a real secret.
SECRET_PLACEHOLDER = "value-from-a-secret-" + "x" * 40


def of_kind(objects: list[Obj], kind: str) -> list[Obj]:
    """The objects of one kind."""
    return [obj for obj in objects if obj.get("kind") == kind]


def named(objects: list[Obj], kind: str, name: str) -> Obj | None:
    """The object of that kind and name, if any."""
    return next((o for o in of_kind(objects, kind) if o["metadata"]["name"] == name), None)


def workloads(objects: list[Obj]) -> list[Obj]:
    """Deployments, StatefulSets and Jobs."""
    return [obj for obj in objects if obj.get("kind") in WORKLOAD_KINDS]


def pod_spec(workload: Obj) -> Obj:
    """The pod template's spec."""
    spec: Obj = workload["spec"]["template"]["spec"]
    return spec


def pod_labels(workload: Obj) -> dict[str, str]:
    """The labels its pods carry."""
    labels: dict[str, str] = workload["spec"]["template"].get("metadata", {}).get("labels", {})
    return labels


def selects(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """Whether a label selector (matchLabels and matchExpressions) matches ``labels``."""
    if selector is None:
        return False
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = expression["key"], expression["operator"], expression.get("values")
        present = key in labels
        if not {
            "In": present and labels.get(key) in (values or []),
            "NotIn": not present or labels.get(key) not in (values or []),
            "Exists": present,
            "DoesNotExist": not present,
        }[operator]:
            return False
    return True


def containers(workload: Obj) -> Iterator[Obj]:
    """Init containers and containers of its pods."""
    spec = pod_spec(workload)
    yield from spec.get("initContainers", [])
    yield from spec.get("containers", [])


def secret_placeholder(name: str) -> str:
    """What a Secret's value stands for under ``name``: the shape the setting parses."""
    # APP_SERVICE_CALLERS is `name=token,...`: a bare placeholder would not parse.
    return f"orders={SECRET_PLACEHOLDER}" if name == "APP_SERVICE_CALLERS" else SECRET_PLACEHOLDER


def environment(
    objects: list[Obj], container: Obj, problems: list[str], owner: str
) -> dict[str, str]:
    """The container's environment as the kubelet builds it (later entries win).

    Values from Secrets are ``SECRET_PLACEHOLDER``; a missing ConfigMap is a problem.
    """
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            name = source["configMapRef"]["name"]
            config_map = named(objects, "ConfigMap", name)
            if config_map is None:
                problems.append(f"{owner}: envFrom ConfigMap {name} is not in the manifests")
                continue
            env.update(
                {source.get("prefix", "") + k: v for k, v in config_map.get("data", {}).items()}
            )
        elif "secretRef" in source:
            problems.append(f"{owner}: envFrom secretRef imports unnamed keys; name each one")
    for entry in container.get("env", []):
        value_from = entry.get("valueFrom", {})
        if "secretKeyRef" in value_from:
            env[entry["name"]] = secret_placeholder(entry["name"])
        elif "configMapKeyRef" in value_from:
            key = value_from["configMapKeyRef"]
            data = (named(objects, "ConfigMap", key["name"]) or {}).get("data", {})
            if key["key"] not in data:
                problems.append(
                    f"{owner}: {entry['name']} refers to missing {key['name']}.{key['key']}"
                )
            env[entry["name"]] = data.get(key["key"], "")
        else:
            env[entry["name"]] = str(entry.get("value", ""))
    return env


def secret_refs(container: Obj) -> dict[str, str]:
    """Env name -> ``secret/key`` for every value taken from a Secret."""
    return {
        entry["name"]: f"{ref_['name']}/{ref_['key']}"
        for entry in container.get("env", [])
        if (ref_ := entry.get("valueFrom", {}).get("secretKeyRef"))
    }


@dataclass(frozen=True, slots=True)
class Image:
    """One of the project's images: the package it serves and what its Dockerfile says."""

    package: str
    dockerfile: Dockerfile
    path: Path

    @property
    def port(self) -> int | None:
        """The port uvicorn listens on (``ENV PORT``)."""
        port = self.dockerfile.env.get("PORT", "")
        return int(port) if port.isdigit() else None


@cache
def _image(name: str) -> Image | None:
    path = ROOT / "deploy" / f"{name}.Dockerfile"
    if not path.is_file():
        return None
    parsed = dockerfile.load(path)
    package = parsed.env.get("SERVICE")
    return Image(package, parsed, path) if package else None


def image_of(container: Obj) -> Image | None:
    """The project image a container runs (``[registry/]shop/<name>[:tag]``), if it is one."""
    reference = str(container.get("image", "")).split("@")[0]
    repository = reference.rsplit("/", 1)[-1].split(":")[0]
    return _image(repository)


def app_containers(workload: Obj) -> Iterator[tuple[Obj, Image]]:
    """The containers of a workload that run one of the project's images."""
    for container in containers(workload):
        image = image_of(container)
        if image is not None:
            yield container, image


WORKER_COMMAND = ["orders", "worker"]


def is_worker(container: Obj) -> bool:
    """Whether the container runs ``orders worker`` (the event consumer), not the API.

    The entrypoint execs any first argument other than ``serve`` as a command,
    so the worker's args start with the program's name, as in compose.
    """
    return list(container.get("args", []))[:2] == WORKER_COMMAND


def is_worker_deployment(workload: Obj) -> bool:
    """A Deployment whose project containers run the event consumer."""
    found = [container for container, _ in app_containers(workload)]
    return bool(found) and all(is_worker(container) for container in found)


def owner(workload: Obj, container: Obj) -> str:
    """``Kind/name[container]``, for messages."""
    return f"{ref(workload)}[{container.get('name')}]"
