"""docker-compose.yml agrees with the code it deploys, and the checker catches drift."""

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from deploy.compose_check import (
    ENV_EXAMPLE,
    ROOT,
    check,
    schema_problems,
)
from deploy.compose_env import interpolate, read_env_file
from servicekit.testing import POSTGRES_IMAGE
from tests.deploy.compose_support import Compose, Mutation, problems_after, service_env


def _copy_dockerfile(tmp_path: Path, name: str, old: str, new: str) -> Path:
    original = (ROOT / "deploy" / name).read_text()
    assert old in original
    path = tmp_path / name
    path.write_text(original.replace(old, new))
    return path


def test_compose_file_validates_against_the_compose_specification(compose: Compose) -> None:
    assert schema_problems(compose) == []


def test_repository_stack_has_no_problems(compose: Compose) -> None:
    assert check(compose, ROOT, ENV_EXAMPLE) == []


def test_stack_runs_products_and_orders_in_http_mode_by_default(compose: Compose) -> None:
    services = compose["services"]
    default = {name for name, service in services.items() if "profiles" not in service}
    assert default == {"postgres", "rabbitmq", "dev-idp", "products", "orders", "orders-worker"}
    assert service_env(compose, "orders")["APP_PRODUCTS_CLIENT"] == "http"
    for name in ("products", "orders", "orders-worker"):
        assert service_env(compose, name)["APP_EVENT_BUS"] == "rabbitmq"
    assert services["orders-worker"]["command"][:2] == ["orders", "worker"]
    assert service_env(compose, "orders-monolith")["APP_PRODUCTS_CLIENT"] == "local"
    assert "products" not in services["orders-monolith"].get("depends_on", {})
    assert services["orders-monolith"]["profiles"] == ["monolith"]


def test_every_service_process_runs_as_production_unless_deploy_env_says_otherwise(
    compose: Compose,
) -> None:
    apps = [
        name
        for name, service in compose["services"].items()
        if "APP_JWT_JWKS_URL" in service.get("environment", {})
    ]
    assert {"products", "orders", "orders-worker", "orders-monolith", "orders-shadow"} <= set(apps)
    for name in apps:
        assert interpolate(str(service_env(compose, name)["APP_ENVIRONMENT"]), {}) == "production"
        # User tokens by the identity provider's keys; nothing here can sign one.
        assert "APP_JWT_SECRET" not in service_env(compose, name), name


def test_tests_on_docker_run_the_postgresql_image_compose_runs(compose: Compose) -> None:
    assert compose["services"]["postgres"]["image"] == POSTGRES_IMAGE


def test_no_secret_is_written_into_the_compose_file(compose: Compose) -> None:
    secrets = ("POSTGRES_PASSWORD", "DB_PASSWORD", "JWT_SECRET", "SERVICE_TOKEN", "DEFAULT_PASS")
    callers = service_env(compose, "products")["APP_SERVICE_CALLERS"]
    assert callers.startswith("orders=${"), "products' callers are hard-coded"
    for name, service in compose["services"].items():
        for key, value in service.get("environment", {}).items():
            if key.endswith(secrets):
                assert str(value).startswith("${"), f"{name}.{key} is hard-coded"
        for variable in ("APP_DATABASE_URL", "APP_RABBITMQ_URL"):
            url = service.get("environment", {}).get(variable, "")
            assert not url or ":${" in url, f"{name} {variable} password is hard-coded"


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        pytest.param(
            lambda c: c["services"]["products"].update(restart_policy="always"),
            "schema: /services/products",
            id="schema-violation",
        ),
        pytest.param(
            lambda c: service_env(c, "orders").update(APP_PRODUCT_URL="http://products:8001"),
            "orders: APP_PRODUCT_URL is not a field",
            id="misspelt-app-variable",
        ),
        pytest.param(
            lambda c: service_env(c, "products").update(FEATURE_MAX_BULK_SIZE="10"),
            "products: FEATURE_MAX_BULK_SIZE is not a field",
            id="misspelt-feature-flag",
        ),
        pytest.param(
            lambda c: service_env(c, "products").update(APP_PRODUCTS_CLIENT="http"),
            "products: APP_PRODUCTS_CLIENT is not a field",
            id="variable-of-the-other-service",
        ),
        pytest.param(
            lambda c: service_env(c, "orders").update(APP_PRODUCTS_CLIENT="htttp"),
            "orders: Settings.products_client",
            id="invalid-setting-value",
        ),
        pytest.param(
            lambda c: service_env(c, "products").update(FEATURE_MAX_BULK_IMPORT_SIZE="lots"),
            "products: FeatureFlags.max_bulk_import_size",
            id="invalid-feature-flag-value",
        ),
        pytest.param(
            lambda c: c["services"]["orders"].update(
                healthcheck={"test": ["CMD", "curl", "-f", "http://127.0.0.1:8000/healthz"]}
            ),
            "orders: healthcheck path /healthz is not a route of orders",
            id="wrong-healthcheck-path",
        ),
        pytest.param(
            lambda c: c["services"]["orders"].update(
                healthcheck={"test": ["CMD", "curl", "-f", "http://127.0.0.1:8001/health/ready"]}
            ),
            "orders: healthcheck port 8001 != listen port 8000",
            id="wrong-healthcheck-port",
        ),
        pytest.param(
            lambda c: c["services"]["products"]["build"].update(
                dockerfile="deploy/product.Dockerfile"
            ),
            "products: Dockerfile",
            id="wrong-dockerfile-path",
        ),
        pytest.param(
            lambda c: c["services"]["products"]["build"].update(context="services/nowhere"),
            "products: build context",
            id="wrong-build-context",
        ),
        pytest.param(
            lambda c: c["services"]["products"].update(ports=["127.0.0.1:8001:8080"]),
            "products: publishes container port 8080, but the service listens on 8001",
            id="published-port-mismatch",
        ),
        pytest.param(
            lambda c: service_env(c, "orders").update(APP_PRODUCTS_URL="http://products:8000"),
            "orders: APP_PRODUCTS_URL port 8000 != products's container port 8001",
            id="products-url-wrong-port",
        ),
        pytest.param(
            lambda c: service_env(c, "orders").update(APP_PRODUCTS_URL="http://localhost:8001"),
            "orders: APP_PRODUCTS_URL host 'localhost' is not a products service",
            id="products-url-wrong-host",
        ),
        pytest.param(
            lambda c: c["services"]["orders"]["depends_on"].pop("products"),
            "orders: must depend on products with condition service_healthy",
            id="orders-does-not-wait-for-products",
        ),
        pytest.param(
            lambda c: c["services"]["postgres"].pop("healthcheck"),
            "products: waits for postgres to be healthy, but it has no healthcheck",
            id="healthy-dependency-without-healthcheck",
        ),
        pytest.param(
            lambda c: c["services"]["rabbitmq"].pop("healthcheck"),
            "products: waits for rabbitmq to be healthy, but it has no healthcheck",
            id="broker-without-healthcheck",
        ),
        pytest.param(
            lambda c: service_env(c, "products").update(
                APP_RABBITMQ_URL="amqp://shop:x@broker:5672/"
            ),
            "products: APP_RABBITMQ_URL host 'broker' is not a RabbitMQ service",
            id="broker-url-wrong-host",
        ),
        pytest.param(
            lambda c: service_env(c, "orders-worker").update(
                APP_RABBITMQ_URL="amqp://shop:x@rabbitmq:15672/"
            ),
            "orders-worker: APP_RABBITMQ_URL port 15672 != AMQP port 5672",
            id="broker-url-wrong-port",
        ),
        pytest.param(
            lambda c: c["services"]["products"]["depends_on"].pop("rabbitmq"),
            "products: must depend on rabbitmq with condition service_healthy",
            id="consumer-does-not-wait-for-the-broker",
        ),
        pytest.param(
            lambda c: service_env(c, "orders").pop("APP_RABBITMQ_URL"),
            "orders: APP_EVENT_BUS=rabbitmq without APP_RABBITMQ_URL",
            id="event-bus-without-broker-url",
        ),
        pytest.param(
            lambda c: service_env(c, "orders").update(APP_EVENT_BUS="kafka"),
            "orders: Settings.event_bus",
            id="invalid-event-bus",
        ),
        pytest.param(
            lambda c: service_env(c, "orders").update(APP_SENDGRID_API_KEY="${SENDGRID_API_KEY:?}"),
            "env: ${SENDGRID_API_KEY} is used by the compose file but not listed",
            id="undocumented-variable",
        ),
        pytest.param(
            lambda c: service_env(c, "orders").update(
                APP_JWT_JWKS_URL="http://dev-idp:8081/.well-known/jwks.json"
            ),
            "orders: APP_JWT_JWKS_URL is not dev-idp's JWKS (port 8080",
            id="jwks-url-wrong-port",
        ),
        pytest.param(
            lambda c: service_env(c, "products").update(
                APP_JWT_JWKS_URL="http://rabbitmq:8080/.well-known/jwks.json"
            ),
            "products: APP_JWT_JWKS_URL host 'rabbitmq' does not run servicekit.devidp serve",
            id="jwks-url-names-another-service",
        ),
        pytest.param(
            lambda c: service_env(c, "dev-idp").update(DEV_JWT_ISSUER="someone-else"),
            "orders: APP_JWT_ISSUER is not the DEV_JWT_ISSUER dev-idp signs with",
            id="dev-idp-signs-for-another-issuer",
        ),
        pytest.param(
            lambda c: service_env(c, "dev-idp").update(APP_ENVIRONMENT="development"),
            "dev-idp: the development identity provider reads no APP_ENVIRONMENT",
            id="dev-idp-given-a-setting",
        ),
        pytest.param(
            lambda c: c["services"]["dev-idp"].update(ports=["127.0.0.1:8002:8080"]),
            "dev-idp: publishes a port",
            id="dev-idp-on-the-host",
        ),
        pytest.param(
            lambda c: c["services"]["dev-idp"]["healthcheck"].update(
                test=[
                    "CMD",
                    "python",
                    "-c",
                    "import urllib.request as r; r.urlopen('http://127.0.0.1:8080/health/ready')",
                ]
            ),
            "dev-idp: healthcheck does not GET /.well-known/jwks.json on port 8080",
            id="dev-idp-healthcheck-elsewhere",
        ),
        pytest.param(
            lambda c: service_env(c, "orders").update(
                APP_JWT_ALLOW_HTTP_JWKS_IN_PRODUCTION="false"
            ),
            "orders: Settings.: Value error, production fetches APP_JWT_JWKS_URL over https only",
            id="plain-http-jwks-not-allowed",
        ),
    ],
)
def test_checker_reports_drift(compose: Compose, mutate: Mutation, expected: str) -> None:
    problems = problems_after(compose, mutate)

    assert any(expected in problem for problem in problems), problems


def test_checker_accepts_a_real_feature_flag(compose: Compose) -> None:
    problems = problems_after(
        compose, lambda c: service_env(c, "products").update(FEATURE_MAX_BULK_IMPORT_SIZE="100")
    )

    assert problems == []


def test_checker_reads_healthcheck_path_from_the_dockerfile(
    compose: Compose, tmp_path: Path
) -> None:
    dockerfile = _copy_dockerfile(tmp_path, "products.Dockerfile", "/health/ready", "/health/rdy")

    problems = problems_after(
        compose, lambda c: c["services"]["products"]["build"].update(dockerfile=str(dockerfile))
    )

    assert "products: healthcheck path /health/rdy is not a route of products" in problems


def test_checker_reports_copy_source_missing_from_build_context(
    compose: Compose, tmp_path: Path
) -> None:
    dockerfile = _copy_dockerfile(
        tmp_path, "orders.Dockerfile", "COPY services/orders/src", "COPY services/order/src"
    )

    problems = problems_after(
        compose, lambda c: c["services"]["orders"]["build"].update(dockerfile=str(dockerfile))
    )

    assert any("copies services/order/src" in problem for problem in problems), problems


def test_checker_reports_dockerfile_port_drift(compose: Compose, tmp_path: Path) -> None:
    dockerfile = _copy_dockerfile(tmp_path, "products.Dockerfile", "PORT=8001", "PORT=9001")

    problems = problems_after(
        compose, lambda c: c["services"]["products"]["build"].update(dockerfile=str(dockerfile))
    )

    assert "products: the Dockerfile listens on 9001 but does not EXPOSE it" in problems
    assert "orders: APP_PRODUCTS_URL port 8001 != products's container port 9001" in problems


def test_checker_reads_env_files(compose: Compose, tmp_path: Path) -> None:
    env_file = tmp_path / "orders.env"
    env_file.write_text("# orders extras\nAPP_LOG_LEVEL=DEBUG\nAPP_OUTBOX_POLL_SECS=1\n")

    problems = problems_after(
        compose,
        lambda c: c["services"]["orders"].update(
            env_file=[str(env_file), {"path": str(tmp_path / "absent.env"), "required": False}]
        ),
    )

    assert problems == [
        "orders: APP_OUTBOX_POLL_SECS is not a field of orders.config Settings/FeatureFlags"
    ]


def test_checker_reports_a_missing_required_env_file(compose: Compose, tmp_path: Path) -> None:
    missing = tmp_path / "nothing.env"

    problems = problems_after(
        compose, lambda c: c["services"]["orders"].update(env_file=str(missing))
    )

    assert problems == [f"orders: env_file {missing} does not exist"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${A}", "from-env"),
        ("${MISSING:-fallback}", "fallback"),
        ("x-${MISSING:?required}-y", "x-" + "x" * 48 + "-y"),
        ("$${A} stays", "${A} stays"),
    ],
)
def test_interpolate_resolves_like_compose(text: str, expected: str) -> None:
    assert interpolate(text, {"A": "from-env"}) == expected


def test_checker_reports_a_copy_source_the_dockerignore_excludes(
    compose: Compose, tmp_path: Path
) -> None:
    (tmp_path / "app" / "src").mkdir(parents=True)
    (tmp_path / "Dockerfile").write_text("FROM python:3.11-slim\nCOPY app/src /app/src\n")
    (tmp_path / ".dockerignore").write_text("app\n")

    problems = problems_after(
        compose, lambda c: c["services"]["products"].update(build={"context": str(tmp_path)})
    )

    assert "products: Dockerfile copies app/src, which .dockerignore excludes" in problems


def test_the_stack_verifies_user_tokens_by_the_dev_identity_provider_out_of_the_box(
    compose: Compose,
) -> None:
    variables = read_env_file(ENV_EXAMPLE)
    dev_idp = compose["services"]["dev-idp"]
    # Built from the orders image, which ships servicekit; holds its key, not the services.
    assert dev_idp["build"] == compose["services"]["orders"]["build"]
    assert dev_idp["command"][:4] == ["python", "-m", "servicekit.devidp", "serve"]
    assert "ports" not in dev_idp
    assert urlsplit(variables["APP_JWT_JWKS_URL"]).hostname == "dev-idp"
    for name in ("products", "orders", "orders-worker", "orders-monolith", "orders-shadow"):
        env = service_env(compose, name)
        assert interpolate(str(env["APP_JWT_JWKS_URL"]), variables) == variables["APP_JWT_JWKS_URL"]
        assert interpolate(str(env["APP_JWT_ALLOW_HTTP_JWKS_IN_PRODUCTION"]), variables) == "true"
    # Pointed at a real provider, the flag defaults to false: https only.
    assert (
        interpolate(
            str(service_env(compose, "orders")["APP_JWT_ALLOW_HTTP_JWKS_IN_PRODUCTION"]), {}
        )
        == "false"
    )


def test_checker_accepts_an_identity_provider_outside_the_file(compose: Compose) -> None:
    def real_provider(c: Compose) -> None:
        for name in ("products", "orders", "orders-worker", "orders-monolith", "orders-shadow"):
            service_env(c, name).update(
                APP_JWT_JWKS_URL="https://idp.example.com/realms/shop/protocol/openid-connect/certs",
                APP_JWT_ISSUER="https://idp.example.com/realms/shop",
                APP_JWT_ALLOW_HTTP_JWKS_IN_PRODUCTION="false",
            )

    assert problems_after(compose, real_provider) == []
