"""Tracing: off unless OTEL_TRACES_EXPORTER asks; server spans, trace ids in logs, stored links."""

import json
import logging
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from servicekit.app import install_plumbing
from servicekit.logging import JsonFormatter
from servicekit.settings import Environment, ServiceSettings
from servicekit.testing import recorded_spans
from servicekit.tracing import current_traceparent, link_to, requested_exporter, tracer


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    with recorded_spans() as exporter:
        yield exporter


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"OTEL_TRACES_EXPORTER": "none"},
        {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "true"},
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"},
    ],
)
def test_tracing_is_off_unless_an_exporter_is_named(environ: dict[str, str]) -> None:
    assert requested_exporter(environ) is None


@pytest.mark.parametrize("exporter", ["otlp", "console", "OTLP"])
def test_a_named_exporter_turns_tracing_on(exporter: str) -> None:
    assert requested_exporter({"OTEL_TRACES_EXPORTER": exporter}) == exporter.lower()


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"OTEL_TRACES_EXPORTER": "zipkin"}, "OTEL_TRACES_EXPORTER='zipkin' is not supported"),
        (
            {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
            "OTEL_EXPORTER_OTLP_PROTOCOL='grpc' is not supported",
        ),
    ],
)
def test_an_unsupported_setting_fails_at_start_up(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        requested_exporter(environ)


def test_with_tracing_off_a_service_never_loads_the_sdk() -> None:
    script = (
        "import sys\n"
        "from products.main import create_app\n"
        "create_app()\n"
        "loaded = sorted(m for m in sys.modules if m.startswith("
        "('opentelemetry.sdk', 'opentelemetry.instrumentation', 'opentelemetry.exporter')))\n"
        "print(loaded)\n"
    )
    env = {"APP_ENVIRONMENT": "testing", "PATH": "/usr/bin:/bin"}
    completed = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    assert completed.stdout.strip().splitlines()[-1] == "[]"


async def test_requests_get_a_server_span_carrying_the_request_id(
    spans: InMemorySpanExporter,
) -> None:
    app = FastAPI()

    @app.get("/hello")
    async def hello() -> dict[str, str]:
        return {"hello": "world"}

    install_plumbing(app, ServiceSettings(environment=Environment.TESTING), "kit")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://kit") as client:
        response = await client.get("/hello", headers={"X-Request-ID": "req-1"})
        await client.get("/health/live")

    assert response.status_code == 200
    (server,) = [s for s in spans.get_finished_spans() if s.kind is SpanKind.SERVER]
    assert server.name == "GET /hello"
    assert (server.attributes or {})["request.id"] == "req-1"


async def test_incoming_traceparent_continues_the_callers_trace(
    spans: InMemorySpanExporter,
) -> None:
    app = FastAPI()
    install_plumbing(app, ServiceSettings(environment=Environment.TESTING), "kit")
    caller = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://kit") as client:
        await client.get("/nowhere", headers={"traceparent": caller})

    (server,) = [s for s in spans.get_finished_spans() if s.kind is SpanKind.SERVER]
    assert server.context is not None
    assert server.parent is not None
    assert format(server.context.trace_id, "032x") == "0af7651916cd43dd8448eb211c80319c"
    assert format(server.parent.span_id, "016x") == "b7ad6b7169203331"


def _log_line(formatter: JsonFormatter) -> dict[str, object]:
    record = logging.LogRecord("kit", logging.INFO, __file__, 1, "hello", None, None)
    payload: dict[str, object] = json.loads(formatter.format(record))
    return payload


def test_log_lines_carry_the_trace_and_span_ids_of_the_current_span(
    spans: InMemorySpanExporter,
) -> None:
    formatter = JsonFormatter("kit")
    spans_tracer = tracer("test")
    assert spans_tracer is not None

    assert "trace_id" not in _log_line(formatter)
    with spans_tracer.start_as_current_span("work") as span:
        line = _log_line(formatter)

    context = span.get_span_context()
    assert line["trace_id"] == format(context.trace_id, "032x")
    assert line["span_id"] == format(context.span_id, "016x")


def test_a_stored_traceparent_links_back_to_the_span_that_wrote_it(
    spans: InMemorySpanExporter,
) -> None:
    spans_tracer = tracer("test")
    assert spans_tracer is not None
    with spans_tracer.start_as_current_span("request") as span:
        stored = current_traceparent()

    (link,) = link_to(stored)
    assert link.context.trace_id == span.get_span_context().trace_id
    assert link.context.span_id == span.get_span_context().span_id
    assert link_to(None) == []
    assert link_to("garbage") == []


def test_without_tracing_nothing_is_stored() -> None:
    assert tracer("test") is None
    assert current_traceparent() is None
