"""docker-compose.yml's tracing: off by default, exporters reach the collector, collector reaches Jaeger."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from deploy.compose_check import ENV_EXAMPLE, ROOT
from deploy.compose_env import interpolate, read_env_file
from tests.deploy.compose_support import Compose, problems_after, service_env

COLLECTOR_CONFIG = ROOT / "deploy" / "otel" / "collector.yaml"
APP_SERVICES = ("products", "orders", "orders-monolith", "orders-shadow")


def _collector_with(tmp_path: Path, change: Callable[[dict[str, Any]], None]) -> str:
    config = yaml.safe_load(COLLECTOR_CONFIG.read_text())
    change(config)
    path = tmp_path / "collector.yaml"
    path.write_text(yaml.safe_dump(config))
    return f"{path}:/etc/otelcol/config.yaml:ro"


def test_tracing_is_off_by_default_and_its_services_sit_behind_a_profile(
    compose: Compose,
) -> None:
    defaults = read_env_file(ENV_EXAMPLE)
    for name in APP_SERVICES:
        env = service_env(compose, name)
        assert interpolate(env["OTEL_TRACES_EXPORTER"], defaults) == "none", name
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4318", name
    for name in ("otel-collector", "jaeger"):
        assert compose["services"][name]["profiles"] == ["tracing"]


def test_tracing_on_is_a_valid_stack(compose: Compose) -> None:
    def turn_on(c: Compose) -> None:
        for name in APP_SERVICES:
            service_env(c, name)["OTEL_TRACES_EXPORTER"] = "otlp"

    assert problems_after(compose, turn_on) == []


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        pytest.param(
            lambda c: service_env(c, "orders").update(OTEL_TRACES_EXPORTER="jaeger"),
            "orders: OTEL_TRACES_EXPORTER='jaeger' is not supported",
            id="unsupported-exporter",
        ),
        pytest.param(
            lambda c: service_env(c, "orders").update(OTEL_SERVICE_NAMES="orders"),
            "orders: OTEL_SERVICE_NAMES is not an OpenTelemetry variable the services read",
            id="misspelt-variable",
        ),
        pytest.param(
            lambda c: service_env(c, "products").update(OTEL_EXPORTER_OTLP_PROTOCOL="grpc"),
            "products: OTEL_EXPORTER_OTLP_PROTOCOL='grpc' is not supported",
            id="grpc-protocol",
        ),
        pytest.param(
            lambda c: service_env(c, "orders").update(
                OTEL_EXPORTER_OTLP_ENDPOINT="http://otel:4318"
            ),
            "orders: OTLP endpoint host 'otel' is not a service in this file",
            id="endpoint-unknown-host",
        ),
        pytest.param(
            lambda c: service_env(c, "orders").update(
                OTEL_EXPORTER_OTLP_ENDPOINT="http://otel-collector:4317"
            ),
            "orders: OTLP endpoint port 4317 != otel-collector's receiver 4318",
            id="endpoint-grpc-port",
        ),
        pytest.param(
            lambda c: c["services"]["otel-collector"].update(volumes=[]),
            "otel-collector: --config=/etc/otelcol/config.yaml is not mounted from a file",
            id="collector-config-not-mounted",
        ),
        pytest.param(
            lambda c: c["services"]["otel-collector"].pop("command"),
            "otel-collector: receives OTLP but passes no --config= file",
            id="collector-without-config",
        ),
    ],
)
def test_checker_reports_tracing_drift(
    compose: Compose, mutate: Callable[[Compose], None], expected: str
) -> None:
    problems = problems_after(compose, mutate)

    assert any(expected in problem for problem in problems), problems


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(
            lambda cfg: cfg["receivers"]["otlp"]["protocols"]["http"].update(
                endpoint="localhost:4318"
            ),
            "otel-collector: OTLP/HTTP receiver listens on localhost:4318, unreachable",
            id="receiver-on-localhost",
        ),
        pytest.param(
            lambda cfg: cfg["receivers"]["otlp"]["protocols"].pop("http"),
            "otel-collector has no OTLP/HTTP receiver",
            id="no-http-receiver",
        ),
        pytest.param(
            lambda cfg: cfg["exporters"]["otlp/jaeger"].update(endpoint="tempo:4317"),
            "otel-collector: exporter otlp/jaeger sends to 'tempo', not a service here",
            id="exporter-to-unknown-service",
        ),
        pytest.param(
            lambda cfg: cfg["service"]["pipelines"]["traces"].update(exporters=["debug"]),
            "the traces pipeline uses exporter 'debug', which is not declared",
            id="undeclared-exporter",
        ),
        pytest.param(
            lambda cfg: cfg["service"]["pipelines"].pop("traces"),
            "otel-collector: the collector configuration has no traces pipeline",
            id="no-traces-pipeline",
        ),
    ],
)
def test_checker_reads_the_mounted_collector_configuration(
    compose: Compose,
    tmp_path: Path,
    change: Callable[[dict[str, Any]], None],
    expected: str,
) -> None:
    volume = _collector_with(tmp_path, change)

    problems = problems_after(
        compose, lambda c: c["services"]["otel-collector"].update(volumes=[volume])
    )

    assert any(expected in problem for problem in problems), problems
