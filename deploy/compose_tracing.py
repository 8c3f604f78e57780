"""Static checks of the tracing wiring in docker-compose.yml (part of ``deploy.compose_check``).

- ``OTEL_*`` settings of every service are ones the services read and accept
  (``deploy.otel_env``: names, exporter, OTLP protocol);
- an OTLP endpoint names a service of the file, on a port its collector
  configuration receives OTLP/HTTP on, bound beyond localhost;
- the collector's configuration file is mounted from the repository, its traces
  pipeline uses only receivers and exporters it declares, and every exporter
  endpoint names a service of the file.
"""

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from deploy.compose_env import Service, interpolate, service_environment
from deploy.otel_env import otel_env_problems

_ENDPOINTS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", ""})


def _config_path(service: Service) -> str | None:
    command = service.get("command", [])
    arguments = command.split() if isinstance(command, str) else [str(a) for a in command]
    for argument in arguments:
        if argument.startswith("--config="):
            return argument.removeprefix("--config=")
    return None


def _mounted_source(service: Service, target: str, project_dir: Path) -> Path | None:
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            source, _, rest = volume.partition(":")
            mounted = rest.split(":", 1)[0]
        else:
            source, mounted = str(volume.get("source", "")), str(volume.get("target", ""))
        if mounted == target and source.startswith((".", "/")):
            return (project_dir / source).resolve()
    return None


def collector_config(
    name: str, service: Service, project_dir: Path, problems: list[str]
) -> dict[str, Any] | None:
    """The collector configuration a service mounts and passes with ``--config=``."""
    target = _config_path(service)
    if target is None:
        problems.append(f"{name}: receives OTLP but passes no --config= file")
        return None
    source = _mounted_source(service, target, project_dir)
    if source is None or not source.is_file():
        problems.append(f"{name}: --config={target} is not mounted from a file in the repository")
        return None
    config = yaml.safe_load(source.read_text())
    if not isinstance(config, dict):
        problems.append(f"{name}: {source.name} is not a mapping")
        return None
    return config


def _otlp_http_endpoint(config: Mapping[str, Any]) -> str | None:
    receivers = config.get("receivers") or {}
    otlp = next((v for k, v in receivers.items() if k.split("/")[0] == "otlp"), None) or {}
    http = (otlp.get("protocols") or {}).get("http")
    if http is None:
        return None
    return str((http or {}).get("endpoint", "localhost:4318"))


def pipeline_problems(
    name: str, config: Mapping[str, Any], services: Mapping[str, Service]
) -> list[str]:
    """The traces pipeline uses declared components; exporters reach services of the file."""
    problems = []
    traces = ((config.get("service") or {}).get("pipelines") or {}).get("traces")
    if not traces:
        return [f"{name}: the collector configuration has no traces pipeline"]
    for kind in ("receivers", "processors", "exporters"):
        declared = config.get(kind) or {}
        problems += [
            f"{name}: the traces pipeline uses {kind[:-1]} {component!r}, which is not declared"
            for component in traces.get(kind, [])
            if component not in declared
        ]
    for exporter in traces.get("exporters", []):
        endpoint = str(((config.get("exporters") or {}).get(exporter) or {}).get("endpoint", ""))
        host = urlsplit(endpoint if "//" in endpoint else f"//{endpoint}").hostname
        if endpoint and host not in services:
            problems.append(f"{name}: exporter {exporter} sends to {host!r}, not a service here")
    return problems


def _endpoint_problems(
    name: str,
    endpoint: str,
    services: Mapping[str, Service],
    project_dir: Path,
) -> list[str]:
    url = urlsplit(endpoint)
    host = url.hostname or ""
    if host not in services:
        return [f"{name}: OTLP endpoint host {host!r} is not a service in this file"]
    problems: list[str] = []
    config = collector_config(host, services[host], project_dir, problems)
    if config is None:
        return problems
    receives = _otlp_http_endpoint(config)
    if receives is None:
        return [*problems, f"{name}: {host} has no OTLP/HTTP receiver"]
    bound = urlsplit(f"//{receives}")
    if (bound.hostname or "") in _LOCAL_HOSTS:
        problems.append(
            f"{host}: OTLP/HTTP receiver listens on {receives}, unreachable from {name}"
        )
    if bound.port != url.port:
        problems.append(f"{name}: OTLP endpoint port {url.port} != {host}'s receiver {bound.port}")
    return problems + pipeline_problems(host, config, services)


def tracing_problems(
    services: Mapping[str, Service], project_dir: Path, variables: Mapping[str, str]
) -> list[str]:
    """Every tracing problem of the file; empty when exporters reach a working collector."""
    problems: list[str] = []
    for name, service in services.items():
        env = {
            key: interpolate(value, variables)
            for key, value in service_environment(name, service, project_dir, []).items()
            if key.startswith("OTEL_")
        }
        problems += otel_env_problems(name, env)
        endpoint = next((env[key] for key in _ENDPOINTS if key in env), None)
        if endpoint:
            problems += _endpoint_problems(name, endpoint, services, project_dir)
    return list(dict.fromkeys(problems))  # one collector serves many: report each once
