"""Around each Deployment: its Service, disruption budget and autoscaler; orders' way to products."""

from urllib.parse import urlsplit

from deploy.k8s_check.objects import (
    app_containers,
    environment,
    is_worker_deployment,
    of_kind,
    pod_labels,
    selects,
    workloads,
)
from deploy.k8s_check.render import Obj, ref

MIN_REPLICAS = 2


def services_for(objects: list[Obj], deployment: Obj) -> list[Obj]:
    """Services whose selector picks the Deployment's pods."""
    labels = pod_labels(deployment)
    return [
        s
        for s in of_kind(objects, "Service")
        if s["spec"].get("selector") and selects({"matchLabels": s["spec"]["selector"]}, labels)
    ]


def hpa_for(objects: list[Obj], deployment: Obj) -> Obj | None:
    """The HorizontalPodAutoscaler scaling the Deployment, if any."""
    return next(
        (
            h
            for h in of_kind(objects, "HorizontalPodAutoscaler")
            if h["spec"]["scaleTargetRef"].get("kind") == "Deployment"
            and h["spec"]["scaleTargetRef"].get("name") == deployment["metadata"]["name"]
        ),
        None,
    )


def deployment_problems(objects: list[Obj], deployment: Obj) -> list[str]:
    """A Service, a PodDisruptionBudget and an HPA per Deployment; at least two replicas."""
    name, labels = ref(deployment), pod_labels(deployment)
    problems = []
    if not services_for(objects, deployment):
        problems.append(f"{name}: no Service selects its pods")
    if not any(
        selects(p["spec"].get("selector"), labels) for p in of_kind(objects, "PodDisruptionBudget")
    ):
        problems.append(f"{name}: no PodDisruptionBudget selects its pods")
    hpa = hpa_for(objects, deployment)
    if hpa is None:
        problems.append(f"{name}: no HorizontalPodAutoscaler scales it")
        if deployment["spec"].get("replicas", 1) < MIN_REPLICAS:
            problems.append(f"{name}: fewer than {MIN_REPLICAS} replicas")
        return problems
    if hpa["spec"].get("minReplicas", 1) < MIN_REPLICAS:
        problems.append(f"{ref(hpa)}: minReplicas below {MIN_REPLICAS}")
    if "replicas" in deployment["spec"]:
        # Every `kubectl apply` would set the count back, undoing the HPA's scale-out.
        problems.append(
            f"{name}: sets replicas while {ref(hpa)} scales it; leave the count to the HPA"
        )
    return problems


def worker_problems(objects: list[Obj], deployment: Obj) -> list[str]:
    """A worker needs no Service or HPA; with two replicas or more, a disruption budget."""
    if deployment["spec"].get("replicas", 1) < 1:
        return [f"{ref(deployment)}: no replicas: nothing consumes the events"]
    if deployment["spec"].get("replicas", 1) >= MIN_REPLICAS and not any(
        selects(p["spec"].get("selector"), pod_labels(deployment))
        for p in of_kind(objects, "PodDisruptionBudget")
    ):
        return [f"{ref(deployment)}: no PodDisruptionBudget selects its pods"]
    return []


def _products_deployments(objects: list[Obj]) -> list[Obj]:
    return [
        w
        for w in of_kind(objects, "Deployment")
        if any(image.package == "products" for _, image in app_containers(w))
    ]


def products_url_problems(objects: list[Obj], deployment: Obj) -> list[str]:
    """Orders' mode has what it needs: a products URL that reaches products, or its database."""
    problems: list[str] = []
    for container, image in app_containers(deployment):
        if image.package != "orders":
            continue
        env = environment(objects, container, problems, ref(deployment))
        mode = env.get("APP_PRODUCTS_CLIENT", "local")
        if mode in {"local", "shadow"} and "APP_PRODUCTS_DATABASE_URL" not in env:
            problems.append(f"{ref(deployment)}: {mode} mode without APP_PRODUCTS_DATABASE_URL")
        if mode not in {"http", "shadow"}:
            continue
        if "APP_PRODUCTS_URL" not in env:
            problems.append(f"{ref(deployment)}: {mode} mode without APP_PRODUCTS_URL")
            continue
        url = urlsplit(env["APP_PRODUCTS_URL"])
        host = (url.hostname or "").split(".")[0]
        targets = [
            (service, port)
            for products in _products_deployments(objects)
            for service in services_for(objects, products)
            if service["metadata"]["name"] == host
            for port in service["spec"]["ports"]
            if port["port"] == url.port
        ]
        if not targets:
            problems.append(
                f"{ref(deployment)}: APP_PRODUCTS_URL {env['APP_PRODUCTS_URL']} is no port of a "
                "Service in front of products"
            )
    return problems


def namespace_problems(objects: list[Obj]) -> list[str]:
    """Every object but the Namespace lands in the one Namespace the manifests create."""
    names = [n["metadata"]["name"] for n in of_kind(objects, "Namespace")]
    if len(names) != 1:
        return [f"Namespace: expected one, found {names}"]
    return [
        f"{ref(obj)}: in namespace {obj['metadata'].get('namespace')!r}, not {names[0]!r}"
        for obj in objects
        if obj.get("kind") != "Namespace" and obj["metadata"].get("namespace") != names[0]
    ]


def check(objects: list[Obj]) -> list[str]:
    """Problems around every Deployment of the project's images, and the namespace."""
    problems = namespace_problems(objects)
    for workload in workloads(objects):
        if workload["kind"] == "Deployment" and any(True for _ in app_containers(workload)):
            if is_worker_deployment(workload):
                problems += worker_problems(objects, workload)
            else:
                problems += deployment_problems(objects, workload)
            problems += products_url_problems(objects, workload)
    return problems
