"""The event bus: one mode per stage; in broker mode, the URL from a Secret and a worker.

With ``APP_EVENT_BUS=rabbitmq`` the outbox relay publishes to RabbitMQ and
nothing in the API process consumes orders' own events: ``orders worker``
must run (docs/adr/0013-integration-events-over-rabbitmq.md), and products consumes OrderCancelled
from the broker, so every Deployment of the stage has to use the same bus.
The broker URL carries a password: it comes from a Secret, never a literal
or a ConfigMap (``deploy.k8s_check.secrets`` refuses literals anywhere).
"""

from deploy.k8s_check.objects import (
    app_containers,
    environment,
    is_worker,
    of_kind,
    owner,
    secret_refs,
)
from deploy.k8s_check.render import Obj, ref

BROKER = "rabbitmq"
URL = "APP_RABBITMQ_URL"


def _modes(objects: list[Obj], problems: list[str]) -> list[tuple[Obj, Obj, str]]:
    """(Deployment, container, APP_EVENT_BUS) for every project container of a Deployment."""
    return [
        (
            deployment,
            container,
            environment(objects, container, problems, ref(deployment)).get(
                "APP_EVENT_BUS", "local"
            ),
        )
        for deployment in of_kind(objects, "Deployment")
        for container, _ in app_containers(deployment)
    ]


def check(objects: list[Obj]) -> list[str]:
    """Mixed modes, a broker URL not from a Secret, a missing or misconfigured worker."""
    problems: list[str] = []
    modes = _modes(objects, [])  # a missing ConfigMap is reported by the pod checks
    found = sorted({mode for _, _, mode in modes})
    if len(found) > 1:
        problems.append(
            f"event bus: Deployments disagree ({', '.join(found)}); events published on one "
            "bus are never consumed from the other"
        )
    for deployment, container, mode in modes:
        name = owner(deployment, container)
        if mode != BROKER:
            if is_worker(container):
                problems.append(f"{name}: the worker needs APP_EVENT_BUS={BROKER}, not {mode}")
            continue
        if URL not in secret_refs(container):
            problems.append(f"{name}: APP_EVENT_BUS={BROKER} without {URL} from a Secret")
    workers = [
        deployment
        for deployment, container, mode in modes
        if is_worker(container) and mode == BROKER and deployment["spec"].get("replicas", 1) >= 1
    ]
    if BROKER in found and not workers:
        problems.append(
            f"event bus: APP_EVENT_BUS={BROKER} but no orders worker Deployment consumes "
            "orders' events (`orders worker`)"
        )
    return problems
