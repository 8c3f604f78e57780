"""Static checks of docker-compose.yml against the code it deploys (no Docker engine needed).

``python -m deploy.compose_check [docker-compose.yml]`` prints one line per
problem and exits 1 if there is any. Checked:

- the file validates against the Compose specification JSON schema (the copy
  check-jsonschema vendors);
- every ``${VAR}`` it interpolates is listed in ``deploy/.env.example``;
- build contexts, Dockerfiles and the Dockerfiles' COPY sources exist, and
  ``.dockerignore`` keeps none of those sources out;
- for each service built from a Dockerfile declaring ``ENV SERVICE=<package>``:
  every ``APP_*`` / ``FEATURE_*`` variable is a field of
  ``<package>.config.Settings`` / ``FeatureFlags`` and the values validate;
  healthcheck paths are GET routes of ``<package>.main:create_app()``; the
  published container port, EXPOSE, the healthcheck port and ``ENV PORT``
  (what uvicorn listens on) agree;
- ``APP_PRODUCTS_URL`` names the products service and its container port, and
  ``depends_on`` waits for it to be healthy;
- every ``depends_on: service_healthy`` target has a healthcheck;
- tracing: ``OTEL_*`` settings the services accept, exporters that reach a
  collector of this file, and a collector configuration that forwards traces
  to a service of this file (``deploy.compose_tracing``);
- ``APP_EVENT_BUS=rabbitmq`` services reach the RabbitMQ service and wait for
  it to be healthy (``deploy.compose_broker``);
- a service that runs the development identity provider
  (``python -m servicekit.devidp serve``) is not judged as the image's
  service: it holds no ``APP_*`` settings, publishes no port, and its
  healthcheck GETs its JWKS on the port it serves. An ``APP_JWT_JWKS_URL``
  that names a service of this file must name such a service, at that port
  and path, and then the issuer and audience it signs with are the ones the
  services require.
"""

import functools
import importlib
import importlib.resources
import json
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from jsonschema.validators import validator_for
from pydantic import ValidationError
from pydantic_settings import BaseSettings
from starlette.routing import Match

from deploy import dockerfile
from deploy.compose_broker import broker_problems
from deploy.compose_env import (
    Service,
    env_example_problems,
    interpolate,
    read_env_file,
    service_environment,
)
from deploy.compose_tracing import tracing_problems
from deploy.dockerfile import Dockerfile
from servicekit.devidp import DEFAULT_PORT, JWKS_PATH

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / "deploy" / ".env.example"

_SETTING_PREFIXES = ("APP_", "FEATURE_")
DEV_IDP_MODULE = "servicekit.devidp"
DEV_IDP_JWKS_PATH = JWKS_PATH
DEV_IDP_DEFAULT_PORT = DEFAULT_PORT
_URL = re.compile(r"https?://[^\s'\"]+")


def load_compose(path: Path = COMPOSE_FILE) -> dict[str, Any]:
    """The compose file as data (YAML anchors and merge keys resolved)."""
    document = yaml.safe_load(path.read_text())
    if not isinstance(document, dict):
        raise ValueError(f"{path} is not a mapping")
    return document


def compose_schema() -> dict[str, Any]:
    """The Compose specification schema vendored by check-jsonschema."""
    vendor = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    schema: dict[str, Any] = json.loads(vendor.joinpath("compose-spec.json").read_text())
    return schema


def schema_problems(compose: Mapping[str, Any]) -> list[str]:
    """Violations of the Compose specification."""
    schema = compose_schema()
    validator = validator_for(schema)(schema)
    return [
        f"schema: /{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in sorted(validator.iter_errors(compose), key=lambda e: list(map(str, e.path)))
    ]


def build_problems(name: str, service: Service, project_dir: Path) -> tuple[list[str], Path | None]:
    """A build context and Dockerfile that exist; COPY sources in the context, not ignored."""
    build = service.get("build")
    if build is None:
        return [], None
    spec = {"context": build} if isinstance(build, str) else build
    context = project_dir / spec.get("context", ".")
    if not context.is_dir():
        return [f"{name}: build context {context} does not exist"], None
    path = context / spec.get("dockerfile", "Dockerfile")
    if not path.is_file():
        return [f"{name}: Dockerfile {path} does not exist"], None
    ignored = dockerfile.ignore_patterns(context)
    problems = []
    for source in dockerfile.load(path).copy_sources:
        if any(char in source for char in "*?[$"):
            continue
        if not (context / source).exists():
            problems.append(
                f"{name}: {path.name} copies {source}, which is not in the build context"
            )
        elif dockerfile.is_ignored(source, ignored):
            problems.append(f"{name}: {path.name} copies {source}, which .dockerignore excludes")
    return problems, path


def _settings_classes(package: str, *, offline: bool = False) -> list[type[BaseSettings]]:
    config = importlib.import_module(f"{package}.config")
    settings = "OfflineSettings" if offline else "Settings"
    classes = [getattr(config, name, None) for name in (settings, "FeatureFlags")]
    return [cls for cls in classes if isinstance(cls, type) and issubclass(cls, BaseSettings)]


def _env_name(cls: type[BaseSettings], field: str) -> str:
    return f"{cls.model_config.get('env_prefix', '')}{field}".upper()


def settings_problems(
    name: str,
    package: str,
    env: Mapping[str, str],
    variables: Mapping[str, str],
    *,
    offline: bool = False,
) -> list[str]:
    """Unknown ``APP_*``/``FEATURE_*`` variables, and values the settings reject.

    ``offline``: the process authenticates no one (a migration, the event worker)
    and is judged by ``<package>.config.OfflineSettings``, which asks no auth secrets.
    """
    classes = _settings_classes(package, offline=offline)
    known = {_env_name(cls, field): (cls, field) for cls in classes for field in cls.model_fields}
    problems = [
        f"{name}: {key} is not a field of {package}.config Settings/FeatureFlags"
        for key in sorted(env)
        if key.startswith(_SETTING_PREFIXES) and key not in known
    ]
    for cls in classes:
        values: dict[str, Any] = {
            field: interpolate(env[key], variables)
            for key, (owner, field) in known.items()
            if owner is cls and key in env
        }
        try:
            cls(_env_file=None, **values)
        except ValidationError as exc:
            problems += [
                f"{name}: {cls.__name__}.{'.'.join(map(str, e['loc']))}: {e['msg']}"
                for e in exc.errors()
            ]
    return problems


@functools.cache
def _app(package: str) -> Any:
    # Built only to read its routes, with development settings: a process without
    # APP_ENVIRONMENT is production and would refuse the default secrets.
    settings = importlib.import_module(f"{package}.config").Settings(
        _env_file=None, environment="development"
    )
    return importlib.import_module(f"{package}.main").create_app(settings)


def route_paths(package: str) -> list[str]:
    """Path templates of ``<package>.main:create_app()``: its OpenAPI paths, the docs and,
    if served, the Prometheus endpoint (left out of the schema)."""
    app = _app(package)
    paths = list(app.openapi()["paths"])
    paths += [url for url in (app.openapi_url, app.docs_url, app.redoc_url) if url]
    return paths + [hidden for hidden in ("/metrics",) if serves_get(package, hidden)]


def serves_get(package: str, path: str) -> bool:
    """Whether ``<package>.main:create_app()`` routes ``GET path`` (built, never started)."""
    scope = {"type": "http", "method": "GET", "path": path, "root_path": "", "headers": []}
    return any(route.matches(scope)[0] is Match.FULL for route in _app(package).router.routes)


def healthcheck_commands(service: Service, image: Dockerfile | None) -> list[str]:
    """The effective healthcheck: the compose one if declared, else the Dockerfile's."""
    healthcheck = service.get("healthcheck")
    if healthcheck is not None:
        if healthcheck.get("disable"):
            return []
        test = healthcheck.get("test", [])
        return [test] if isinstance(test, str) else [" ".join(map(str, test))]
    return list(image.healthchecks) if image else []


def _has_healthcheck(service: Service, image: Dockerfile | None) -> bool:
    healthcheck = service.get("healthcheck")
    if healthcheck is not None:
        return not healthcheck.get("disable") and bool(healthcheck.get("test"))
    return bool(image and image.healthchecks)


def healthcheck_problems(
    name: str, package: str, commands: list[str], listen_port: int | None
) -> list[str]:
    """Healthcheck URLs must hit a real route on the port the service listens on."""
    problems = []
    urls = [urlsplit(url) for command in commands for url in _URL.findall(command)]
    if commands and not urls:
        problems.append(f"{name}: healthcheck calls no http:// URL")
    for url in urls:
        if not serves_get(package, url.path):
            problems.append(f"{name}: healthcheck path {url.path} is not a route of {package}")
        if url.port != listen_port:
            problems.append(f"{name}: healthcheck port {url.port} != listen port {listen_port}")
    return problems


def container_ports(service: Service) -> list[int]:
    """Container-side ports of ``ports`` (short and long syntax)."""
    ports = []
    for entry in service.get("ports", []):
        if isinstance(entry, Mapping):
            target = str(entry.get("target", ""))
        else:
            target = str(entry).split("/")[0].rsplit(":", 1)[-1]
        if target.isdigit():
            ports.append(int(target))
    return ports


def port_problems(name: str, service: Service, image: Dockerfile) -> list[str]:
    """Published container ports must be the port the service listens on and exposes."""
    listen = image.env.get("PORT")
    if listen is None or not listen.isdigit():
        return [f"{name}: the Dockerfile sets no numeric ENV PORT for the service to listen on"]
    problems = []
    if int(listen) not in image.exposed:
        problems.append(f"{name}: the Dockerfile listens on {listen} but does not EXPOSE it")
    problems += [
        f"{name}: publishes container port {port}, but the service listens on {listen}"
        for port in container_ports(service)
        if port != int(listen)
    ]
    return problems


def depends_on(service: Service) -> dict[str, str]:
    """Dependency name → condition (short syntax means service_started)."""
    declared = service.get("depends_on", {})
    if isinstance(declared, list):
        return dict.fromkeys(declared, "service_started")
    return {dep: spec.get("condition", "service_started") for dep, spec in declared.items()}


class _Stack:
    """The compose services with what their Dockerfiles say about them."""

    def __init__(self, compose: Mapping[str, Any], project_dir: Path) -> None:
        self.services: Mapping[str, Service] = compose.get("services", {})
        self.project_dir = project_dir
        self.images: dict[str, Dockerfile] = {}
        self.problems: list[str] = []
        for name, service in self.services.items():
            problems, path = build_problems(name, service, project_dir)
            self.problems += problems
            if path is not None:
                self.images[name] = dockerfile.load(path)

    def package(self, name: str) -> str | None:
        image = self.images.get(name)
        return image.env.get("SERVICE") if image else None

    def listen_port(self, name: str) -> int | None:
        port = self.images[name].env.get("PORT", "") if name in self.images else ""
        return int(port) if port.isdigit() else None


def products_url_problems(stack: _Stack, name: str, env: Mapping[str, str]) -> list[str]:
    """``APP_PRODUCTS_URL`` must reach the products service, and orders must wait for it."""
    if "APP_PRODUCTS_URL" not in env:
        return []
    url = urlsplit(env["APP_PRODUCTS_URL"])
    host = url.hostname or ""
    if stack.package(host) != "products":
        return [f"{name}: APP_PRODUCTS_URL host {host!r} is not a products service in this file"]
    problems = []
    if url.port != stack.listen_port(host):
        problems.append(
            f"{name}: APP_PRODUCTS_URL port {url.port} != {host}'s container port "
            f"{stack.listen_port(host)}"
        )
    if depends_on(stack.services[name]).get(host) != "service_healthy":
        problems.append(f"{name}: must depend on {host} with condition service_healthy")
    return problems


def depends_on_problems(stack: _Stack, name: str) -> list[str]:
    """Dependencies exist, and ``service_healthy`` ones have a healthcheck to wait for."""
    problems = []
    for dep, condition in depends_on(stack.services[name]).items():
        if dep not in stack.services:
            problems.append(f"{name}: depends on {dep}, which is not a service")
        elif condition == "service_healthy" and not _has_healthcheck(
            stack.services[dep], stack.images.get(dep)
        ):
            problems.append(f"{name}: waits for {dep} to be healthy, but it has no healthcheck")
    return problems


def app_problems(stack: _Stack, name: str, variables: Mapping[str, str]) -> list[str]:
    """Settings, healthcheck, ports and products URL of one service built from our code."""
    service, image, package = stack.services[name], stack.images[name], stack.package(name)
    if package is None:
        return [f"{name}: its Dockerfile sets no ENV SERVICE naming the package it runs"]
    problems: list[str] = []
    env = service_environment(name, service, stack.project_dir, problems)
    commands = healthcheck_commands(service, image)
    try:
        problems += settings_problems(name, package, env, variables)
        problems += healthcheck_problems(name, package, commands, stack.listen_port(name))
    except ImportError as exc:
        problems.append(f"{name}: cannot check against the code: {exc}")
    problems += port_problems(name, service, image)
    problems += products_url_problems(stack, name, env)
    problems += broker_problems(stack.services, name, env, variables)
    problems += jwks_url_problems(stack, name, env, variables)
    return problems


def dev_idp_port(service: Service) -> int | None:
    """The port of ``python -m servicekit.devidp serve`` if ``service`` runs it, else None."""
    command = service.get("command")
    if not isinstance(command, list) or DEV_IDP_MODULE not in command or "serve" not in command:
        return None
    args = [str(arg) for arg in command]
    if "--port" in args and args.index("--port") + 1 < len(args):
        port = args[args.index("--port") + 1]
        return int(port) if port.isdigit() else None
    return DEV_IDP_DEFAULT_PORT


def dev_idp_problems(stack: _Stack, name: str) -> list[str]:
    """The development identity provider: no settings, no host port, a JWKS healthcheck."""
    service, port = stack.services[name], dev_idp_port(stack.services[name])
    problems: list[str] = []
    env = service_environment(name, service, stack.project_dir, problems)
    problems += [
        f"{name}: the development identity provider reads no {key}"
        for key in sorted(env)
        if key.startswith(_SETTING_PREFIXES)
    ]
    if service.get("ports"):
        problems.append(f"{name}: publishes a port; only the services need its JWKS")
    urls = [
        urlsplit(url)
        for command in healthcheck_commands(service, stack.images.get(name))
        for url in _URL.findall(command)
    ]
    if not any(url.path == DEV_IDP_JWKS_PATH and url.port == port for url in urls):
        problems.append(f"{name}: healthcheck does not GET {DEV_IDP_JWKS_PATH} on port {port}")
    return problems


def jwks_url_problems(
    stack: _Stack, name: str, env: Mapping[str, str], variables: Mapping[str, str]
) -> list[str]:
    """A JWKS URL naming a service of this file reaches the dev identity provider there."""
    if "APP_JWT_JWKS_URL" not in env:
        return []
    url = urlsplit(interpolate(env["APP_JWT_JWKS_URL"], variables))
    host = url.hostname or ""
    if host not in stack.services:
        return []  # an identity provider outside this file
    idp = stack.services[host]
    port = dev_idp_port(idp)
    if port is None:
        return [f"{name}: APP_JWT_JWKS_URL host {host!r} does not run {DEV_IDP_MODULE} serve"]
    problems = []
    if url.port != port or url.path != DEV_IDP_JWKS_PATH:
        problems.append(
            f"{name}: APP_JWT_JWKS_URL is not {host}'s JWKS (port {port}, {DEV_IDP_JWKS_PATH})"
        )
    idp_env = idp.get("environment", {})
    for setting, signs_with in (
        ("APP_JWT_ISSUER", "DEV_JWT_ISSUER"),
        ("APP_JWT_AUDIENCE", "DEV_JWT_AUDIENCE"),
    ):
        wanted = interpolate(str(env.get(setting, "")), variables)
        signed = interpolate(str(idp_env.get(signs_with, "")), variables)
        if wanted != signed:
            problems.append(f"{name}: {setting} is not the {signs_with} {host} signs with")
    return problems


def check(
    compose: Mapping[str, Any], project_dir: Path = ROOT, env_example: Path = ENV_EXAMPLE
) -> list[str]:
    """Every problem found; an empty list means the stack is consistent."""
    problems = schema_problems(compose)
    if problems:
        return problems  # the structural checks below assume a valid file
    problems += env_example_problems(compose, env_example)
    variables = read_env_file(env_example) if env_example.is_file() else {}
    stack = _Stack(compose, project_dir)
    problems += stack.problems
    for name, service in stack.services.items():
        problems += depends_on_problems(stack, name)
        if dev_idp_port(service) is not None:
            problems += dev_idp_problems(stack, name)
        elif name in stack.images:
            problems += app_problems(stack, name, variables)
    problems += tracing_problems(stack.services, project_dir, variables)
    return problems


def main(argv: list[str]) -> int:
    """Entry point; returns the process exit status."""
    path = Path(argv[0]).resolve() if argv else COMPOSE_FILE
    problems = check(load_compose(path), path.parent)
    for problem in problems:
        print(problem)
    print(f"{path.name}: {len(problems)} problem(s)", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
