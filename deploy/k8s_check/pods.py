"""Each pod of ours: hardened, bounded, probed on real routes, configured with real settings."""

import re
from typing import Any

from deploy.compose_check import serves_get, settings_problems
from deploy.k8s_check.objects import (
    Image,
    app_containers,
    containers,
    environment,
    is_worker,
    owner,
    pod_spec,
    workloads,
)
from deploy.k8s_check.render import ROOT, Obj, ref
from deploy.otel_env import otel_env_problems
from servicekit.worker_health import READY_PATH as WORKER_READY_PATH

ENTRYPOINT = ROOT / "deploy" / "docker-entrypoint.sh"
_SETTING_PREFIXES = ("APP_", "FEATURE_")
_PROBES = ("startupProbe", "livenessProbe", "readinessProbe")
# What only a process that authenticates someone or calls a service uses: the JWT
# secret, the service token, the callers it accepts, and the identity provider
# whose keys verify user tokens (ADR 0021).
_AUTH_SETTINGS = (
    "APP_JWT_SECRET",
    "APP_SERVICE_TOKEN",
    "APP_SERVICE_CALLERS",
    "APP_JWT_JWKS_URL",
    "APP_JWT_ISSUER",
    "APP_JWT_AUDIENCE",
)


def entrypoint_variables() -> set[str]:
    """The variables docker-entrypoint.sh reads (``$NAME`` / ``${NAME...}``)."""
    return set(re.findall(r"\$\{?([A-Z_][A-Z0-9_]*)", ENTRYPOINT.read_text()))


def security_problems(workload: Obj, container: Obj, image: Image) -> list[str]:
    """Non-root as the image's own user, read-only root, no escalation, no capabilities."""
    name, pod = owner(workload, container), pod_spec(workload)
    pod_context, context = pod.get("securityContext", {}), container.get("securityContext", {})

    def setting(key: str) -> Any:
        return context.get(key, pod_context.get(key))

    problems = []
    if setting("runAsNonRoot") is not True:
        problems.append(f"{name}: runAsNonRoot is not true")
    if setting("runAsUser") != image.dockerfile.uid:
        problems.append(
            f"{name}: runAsUser {setting('runAsUser')} is not the image's user "
            f"{image.dockerfile.uid} ({image.path.name})"
        )
    if (setting("seccompProfile") or {}).get("type") not in {"RuntimeDefault", "Localhost"}:
        problems.append(f"{name}: no RuntimeDefault seccomp profile")
    if context.get("allowPrivilegeEscalation") is not False:
        problems.append(f"{name}: allowPrivilegeEscalation is not false")
    if context.get("privileged"):
        problems.append(f"{name}: privileged")
    if context.get("readOnlyRootFilesystem") is not True:
        problems.append(f"{name}: readOnlyRootFilesystem is not true")
    capabilities = context.get("capabilities", {})
    if "ALL" not in capabilities.get("drop", []) or capabilities.get("add"):
        problems.append(f"{name}: capabilities are not all dropped")
    if pod.get("automountServiceAccountToken") is not False:
        problems.append(f"{ref(workload)}: mounts a service account token it never uses")
    return problems


def writable_paths_problems(workload: Obj, container: Obj, env: dict[str, str]) -> list[str]:
    """With a read-only root, /tmp (and a metrics directory, if set) must be emptyDir mounts."""
    volumes = {v["name"]: v for v in pod_spec(workload).get("volumes", [])}
    mounted = {
        m["mountPath"].rstrip("/"): volumes.get(m["name"], {})
        for m in container.get("volumeMounts", [])
    }
    needed = ["/tmp"]  # noqa: S108 (a path in the pod, checked to be a private emptyDir)
    if env.get("PROMETHEUS_MULTIPROC_DIR"):
        needed.append(env["PROMETHEUS_MULTIPROC_DIR"].rstrip("/"))
    return [
        f"{owner(workload, container)}: {path} is not a writable emptyDir mount"
        for path in needed
        if not any(
            "emptyDir" in volume and (path == mount or path.startswith(mount + "/"))
            for mount, volume in mounted.items()
        )
    ]


def resource_problems(workload: Obj, container: Obj) -> list[str]:
    """CPU and memory requests and limits, requests within limits."""
    resources = container.get("resources", {})
    problems = [
        f"{owner(workload, container)}: no {kind} {resource}"
        for kind in ("requests", "limits")
        for resource in ("cpu", "memory")
        if resource not in resources.get(kind, {})
    ]
    return problems


def probe_problems(workload: Obj, container: Obj, image: Image) -> list[str]:
    """Startup, liveness and readiness probes: GET routes of the app, on the port it listens on."""
    name, problems = owner(workload, container), []
    ports = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
    if image.port not in ports.values():
        problems.append(f"{name}: declares no containerPort {image.port} (the image's PORT)")
    paths = {}
    for probe_name in _PROBES:
        probe = container.get(probe_name)
        if probe is None or "httpGet" not in probe:
            problems.append(f"{name}: no {probe_name} with httpGet")
            continue
        path, port = probe["httpGet"].get("path", "/"), probe["httpGet"].get("port")
        paths[probe_name] = path
        if ports.get(port, port) != image.port:
            problems.append(f"{name}: {probe_name} port {port} is not the listen port {image.port}")
        if not serves_get(image.package, path):
            problems.append(f"{name}: {probe_name} path {path} is not a route of {image.package}")
    if paths.get("livenessProbe") is not None and paths.get("livenessProbe") == paths.get(
        "readinessProbe"
    ):
        problems.append(
            f"{name}: liveness probes the readiness route: a database outage would restart every pod"
        )
    return problems


def metrics_port(container: Obj) -> int | None:
    """The port ``orders worker --metrics-port N`` serves Prometheus on, if given."""
    args = [str(a) for a in container.get("args", [])]
    for index, arg in enumerate(args):
        if arg == "--metrics-port" and index + 1 < len(args) and args[index + 1].isdigit():
            return int(args[index + 1])
        if arg.startswith("--metrics-port=") and arg.split("=", 1)[1].isdigit():
            return int(arg.split("=", 1)[1])
    return None


def worker_probe_problems(workload: Obj, container: Obj) -> list[str]:
    """The worker has no HTTP app: every probe GETs its metrics port.

    That port (``--metrics-port``) serves Prometheus and ``/health/ready``, 503
    while a consumer is detached; without the flag there is nothing to probe.
    """
    name, port = owner(workload, container), metrics_port(container)
    if port is None:
        return [f"{name}: the worker serves no metrics (add --metrics-port), nothing to probe"]
    declared = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
    problems = []
    if port not in declared.values():
        problems.append(f"{name}: declares no containerPort {port} (its --metrics-port)")
    for probe_name in _PROBES:
        probe = container.get(probe_name)
        if probe is None or "httpGet" not in probe:
            problems.append(f"{name}: no {probe_name} with httpGet")
            continue
        target = probe["httpGet"].get("port")
        if declared.get(target, target) != port:
            problems.append(f"{name}: {probe_name} port {target} is not the metrics port {port}")
    # Liveness shows the process is up; readiness that it consumes, so a release whose
    # worker cannot consume stops its rollout (maxSurge 0) instead of replacing a good one.
    ready = (container.get("readinessProbe") or {}).get("httpGet", {}).get("path")
    if ready is not None and ready != WORKER_READY_PATH:
        problems.append(
            f"{name}: readinessProbe path {ready} is not {WORKER_READY_PATH}, which fails "
            "while the worker does not consume"
        )
    annotations = workload["spec"]["template"].get("metadata", {}).get("annotations", {})
    if annotations.get("prometheus.io/scrape") != "true":
        problems.append(f"{ref(workload)}: pods are not annotated for Prometheus scraping")
    elif annotations.get("prometheus.io/port") != str(port):
        problems.append(f"{ref(workload)}: prometheus.io/port is not the metrics port {port}")
    return problems


def scrape_problems(workload: Obj, image: Image) -> list[str]:
    """Prometheus scrape annotations that point at the app's /metrics."""
    annotations = workload["spec"]["template"].get("metadata", {}).get("annotations", {})
    name = ref(workload)
    if annotations.get("prometheus.io/scrape") != "true":
        return [f"{name}: pods are not annotated for Prometheus scraping"]
    problems = []
    if annotations.get("prometheus.io/port") != str(image.port):
        problems.append(f"{name}: prometheus.io/port is not {image.port}")
    path = annotations.get("prometheus.io/path", "/metrics")
    if not serves_get(image.package, path):
        problems.append(f"{name}: prometheus.io/path {path} is not a route of {image.package}")
    return problems


def _offline(workload: Obj, container: Obj) -> bool:
    """The worker and the migration Jobs, which authenticate no one."""
    return is_worker(container) or workload["kind"] == "Job"


def env_problems(workload: Obj, container: Obj, image: Image, env: dict[str, str]) -> list[str]:
    """Settings names and values the code accepts; other names the entrypoint reads."""
    name = owner(workload, container)
    problems = settings_problems(
        name, image.package, env, {}, offline=_offline(workload, container)
    )
    known = entrypoint_variables()
    problems += [
        f"{name}: {key} is neither a setting nor read by {ENTRYPOINT.name}"
        for key in sorted(env)
        if not key.startswith((*_SETTING_PREFIXES, "OTEL_")) and key not in known
    ]
    problems += otel_env_problems(name, env)
    if "APP_DATABASE_URL" not in env:
        problems.append(f"{name}: APP_DATABASE_URL is not set (the default is a SQLite file)")
    return problems


def serving_problems(workload: Obj, container: Obj, env: dict[str, str]) -> list[str]:
    """A serving pod leaves migrations to the release's Job."""
    name = owner(workload, container)
    problems = []
    if env.get("MIGRATE_ON_START", "1") != "0":
        problems.append(f"{name}: migrates on start (set MIGRATE_ON_START=0; the Job migrates)")
    if env.get("APP_RUN_MIGRATIONS_ON_STARTUP", "false").lower() in {"1", "true", "yes", "on"}:
        problems.append(f"{name}: APP_RUN_MIGRATIONS_ON_STARTUP migrates in every replica")
    if (
        "args" in container
        and container["args"][:1] not in (["serve"], [])
        and not is_worker(container)
    ):
        problems.append(f"{name}: runs {container['args']!r}, neither serve nor `orders worker`")
    return problems


def pull_problems(workload: Obj) -> list[str]:
    """A tag is pulled on every start (``Always``), unless the image is pinned by digest.

    With ``IfNotPresent`` a node that has the tag keeps running what it pulled first,
    so a re-pushed tag would never reach it.
    """
    return [
        f"{ref(workload)}[{container.get('name')}]: image {container.get('image')} is a tag "
        f"pulled {container.get('imagePullPolicy', 'IfNotPresent')}; pull it Always or pin a digest"
        for container in containers(workload)
        if "@sha256:" not in str(container.get("image", ""))
        and container.get("imagePullPolicy") != "Always"
    ]


def unused_secret_problems(workload: Obj, container: Obj, env: dict[str, str]) -> list[str]:
    """The worker and the migration Jobs authenticate no one and call no service.

    So they get no JWT secret, no service token or callers, and not the identity
    provider's settings (``OfflineSettings`` asks for none of them).
    """
    if not _offline(workload, container):
        return []
    return [
        f"{owner(workload, container)}: gets {key}, which it never uses"
        for key in _AUTH_SETTINGS
        if key in env
    ]


def check(objects: list[Obj]) -> list[str]:
    """Problems of every container that runs one of the project's images."""
    problems: list[str] = []
    for workload in workloads(objects):
        problems += pull_problems(workload)
        for container, image in app_containers(workload):
            env = environment(objects, container, problems, owner(workload, container))
            problems += security_problems(workload, container, image)
            problems += writable_paths_problems(workload, container, env)
            problems += resource_problems(workload, container)
            problems += env_problems(workload, container, image, env)
            problems += unused_secret_problems(workload, container, env)
            if workload["kind"] == "Deployment":
                if is_worker(container):
                    problems += worker_probe_problems(workload, container)
                else:
                    problems += probe_problems(workload, container, image)
                problems += serving_problems(workload, container, env)
        if workload["kind"] == "Deployment" and any(
            not is_worker(c) for c, _ in app_containers(workload)
        ):
            problems += scrape_problems(workload, next(iter(app_containers(workload)))[1])
    return problems
