"""Who reaches which pods: NetworkPolicies inside the namespace, the Ingress from outside."""

from deploy.compose_check import route_paths
from deploy.k8s_check.objects import (
    app_containers,
    is_worker_deployment,
    named,
    of_kind,
    pod_labels,
    selects,
    workloads,
)
from deploy.k8s_check.render import Obj, ref
from shop_contracts import paths

# What each service may expose at the edge: path prefixes of its public API.
# products' reservation API and both services' /health, /metrics and docs are internal.
PUBLIC_PREFIXES = {
    "orders": (f"{paths.API_PREFIX}/orders",),
    "products": (f"{paths.API_PREFIX}{paths.PRODUCTS}",),
}
# The in-namespace workloads allowed to open connections to a service's API pods.
ALLOWED_CALLERS = {"orders": set[str](), "products": {"orders"}}


def _package(workload: Obj) -> str | None:
    return next((image.package for _, image in app_containers(workload)), None)


def _api_deployments(objects: list[Obj]) -> dict[str, Obj]:
    return {
        package: w
        for w in of_kind(objects, "Deployment")
        if (package := _package(w)) is not None and not is_worker_deployment(w)
    }


def _worker_deployments(objects: list[Obj]) -> list[Obj]:
    return [w for w in of_kind(objects, "Deployment") if is_worker_deployment(w)]


def _admits(policy: Obj, source: Obj, target_ports: set[int | str]) -> bool:
    """Whether one policy's ingress rules let a pod of ``source`` (same namespace) connect."""
    for rule in policy["spec"].get("ingress", []):
        peers = rule.get("from")
        ports = {p.get("port") for p in rule.get("ports", [])}
        if ports and not (ports & target_ports):
            continue
        if not peers:
            return True  # no `from`: every source
        for peer in peers:
            if "namespaceSelector" in peer or "ipBlock" in peer:
                continue  # other namespaces (or addresses): judged by _peer_problems
            if selects(peer.get("podSelector"), pod_labels(source)):
                return True
    return False


def _peer_problems(policy: Obj) -> list[str]:
    """Peers outside the namespace must each name one namespace; no address blocks."""
    problems = []
    for rule in policy["spec"].get("ingress", []):
        for peer in rule.get("from", []):
            if "ipBlock" in peer:
                problems.append(f"{ref(policy)}: admits an ipBlock")
            selector = peer.get("namespaceSelector")
            if selector is not None and "kubernetes.io/metadata.name" not in selector.get(
                "matchLabels", {}
            ):
                problems.append(f"{ref(policy)}: admits namespaces not named one by one")
    return problems


def policy_problems(objects: list[Obj]) -> list[str]:
    """Deny by default; each API admits from this namespace exactly its allowed callers.

    A worker admits none: it serves only metrics, to Prometheus in its own namespace.
    """
    policies = [
        p
        for p in of_kind(objects, "NetworkPolicy")
        if "Ingress" in p["spec"].get("policyTypes", ["Ingress"])
    ]
    problems = [p for policy in policies for p in _peer_problems(policy)]
    if not any(
        p["spec"].get("podSelector") == {} and not p["spec"].get("ingress") for p in policies
    ):
        problems.append("NetworkPolicy: no default-deny policy for the namespace's pods")
    deployments = _api_deployments(objects)
    # Workers serve only metrics: nothing in the namespace may connect to them.
    targets = [(p, d, ALLOWED_CALLERS.get(p, set())) for p, d in deployments.items()]
    targets += [(_package(w) or "", w, set()) for w in _worker_deployments(objects)]
    for _, deployment, allowed_packages in targets:
        selecting = [
            p for p in policies if selects(p["spec"]["podSelector"], pod_labels(deployment))
        ]
        ports: set[int | str] = set()
        for container, _ in app_containers(deployment):
            for port in container.get("ports", []):
                ports |= {port["containerPort"], port.get("name", port["containerPort"])}
        callers = {
            ref(source)
            for source in workloads(objects)
            if source is not deployment
            and (not selecting or any(_admits(p, source, ports) for p in selecting))
        }
        allowed = {ref(deployments[c]) for c in allowed_packages if c in deployments}
        if callers != allowed:
            problems.append(
                f"{ref(deployment)}: reachable in the namespace from {sorted(callers)}, "
                f"expected {sorted(allowed)}"
            )
    return problems


def _routes(objects: list[Obj]) -> list[tuple[Obj, str, str, str]]:
    """(Ingress, path, pathType, backend Service) for every rule."""
    return [
        (ingress, p.get("path", "/"), p.get("pathType", "Prefix"), p["backend"]["service"]["name"])
        for ingress in of_kind(objects, "Ingress")
        for rule in ingress["spec"].get("rules", [])
        for p in rule.get("http", {}).get("paths", [])
        if "service" in p.get("backend", {})
    ]


def _matches(path: str, path_type: str, template: str) -> bool:
    if path_type == "Exact":
        return template == path
    prefix = path.rstrip("/")
    return template == prefix or template.startswith(prefix + "/") or not prefix


def ingress_problems(objects: list[Obj]) -> list[str]:
    """The edge routes only the public prefixes, and every public API is routed."""
    deployments = _api_deployments(objects)
    problems, exposed = [], set()
    for ingress, path, path_type, service_name in _routes(objects):
        service = named(objects, "Service", service_name)
        package = next(
            (
                pkg
                for pkg, d in deployments.items()
                if service
                and selects({"matchLabels": service["spec"].get("selector", {})}, pod_labels(d))
            ),
            None,
        )
        if package is None:
            problems.append(
                f"{ref(ingress)}: {path} goes to {service_name}, which serves none of ours"
            )
            continue
        matched = [t for t in route_paths(package) if _matches(path, path_type, t)]
        public = PUBLIC_PREFIXES.get(package, ())
        private = [t for t in matched if not any(t == p or t.startswith(p + "/") for p in public)]
        if private:
            problems.append(
                f"{ref(ingress)}: {path} exposes internal routes of {package}: {private}"
            )
        if not matched:
            problems.append(f"{ref(ingress)}: {path} matches no route of {package}")
        exposed.add(package)
    for package in sorted(set(deployments) - exposed):
        if PUBLIC_PREFIXES.get(package):
            problems.append(f"Ingress: {package}'s public API is not routed")
    return problems


def check(objects: list[Obj]) -> list[str]:
    """Network policy and edge problems."""
    return policy_problems(objects) + ingress_problems(objects)
