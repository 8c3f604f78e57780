"""Static checks of the event bus in docker-compose.yml (called by ``deploy.compose_check``).

A service with ``APP_EVENT_BUS=rabbitmq`` needs ``APP_RABBITMQ_URL`` naming a
RabbitMQ service of the file on the AMQP port, and must wait for that service
to be healthy (consumers declare their queues at start; a queue declared after
an event was published never sees it). ``depends_on_problems`` already checks
that the broker has a healthcheck to wait for.
"""

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from deploy.compose_env import interpolate

AMQP_PORT = 5672


def _is_broker(service: Mapping[str, Any]) -> bool:
    return str(service.get("image", "")).split(":")[0].split("/")[-1] == "rabbitmq"


def _waits_healthy(service: Mapping[str, Any], dependency: str) -> bool:
    declared = service.get("depends_on", {})
    if isinstance(declared, list):
        return False
    return bool(declared.get(dependency, {}).get("condition") == "service_healthy")


def broker_problems(
    services: Mapping[str, Mapping[str, Any]],
    name: str,
    env: Mapping[str, str],
    variables: Mapping[str, str],
) -> list[str]:
    """What is wrong with how service ``name`` reaches the broker, if it uses one."""
    if env.get("APP_EVENT_BUS") != "rabbitmq":
        return []
    if "APP_RABBITMQ_URL" not in env:
        return [f"{name}: APP_EVENT_BUS=rabbitmq without APP_RABBITMQ_URL"]
    url = urlsplit(interpolate(env["APP_RABBITMQ_URL"], variables))
    host = url.hostname or ""
    if url.scheme != "amqp" or host not in services or not _is_broker(services[host]):
        return [f"{name}: APP_RABBITMQ_URL host {host!r} is not a RabbitMQ service in this file"]
    problems = []
    if (url.port or AMQP_PORT) != AMQP_PORT:
        problems.append(f"{name}: APP_RABBITMQ_URL port {url.port} != AMQP port {AMQP_PORT}")
    if not _waits_healthy(services[name], host):
        problems.append(f"{name}: must depend on {host} with condition service_healthy")
    return problems
