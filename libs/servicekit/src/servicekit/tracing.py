"""OpenTelemetry tracing, configured by the standard ``OTEL_*`` variables; off unless asked for.

Tracing is on when ``OTEL_TRACES_EXPORTER`` names an exporter (``otlp`` or
``console``) and ``OTEL_SDK_DISABLED`` is not ``true``. Everything else is the
SDK's own reading of the environment: ``OTEL_SERVICE_NAME``,
``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_TRACES_SAMPLER`` (+ ``_ARG``),
``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``,
``OTEL_BSP_*``. OTLP is shipped over HTTP/protobuf only (no gRPC stack in the
images); asking for ``grpc`` fails at start-up instead of exporting nothing.

When tracing is off the SDK is never imported and nothing is instrumented: the
only cost left is ``tracer()`` returning ``None`` to callers that check it.
The tracer provider is process-global (OpenTelemetry's design): the first
service configured in a process names it.
"""

import os
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

_EXPORTERS = frozenset({"otlp", "console"})
_OTLP_PROTOCOL_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
# Probes and scrapes would otherwise be most of the spans, and say nothing.
_EXCLUDED_URLS = "/health/live,/health/ready,/metrics"
_TRACE_CONTEXT = TraceContextTextMapPropagator()


class _State:
    provider: "TracerProvider | None" = None
    global_set = False


def requested_exporter(environ: Mapping[str, str] = os.environ) -> str | None:
    """The exporter the environment asks for, or ``None`` when tracing is off.

    Values the services cannot honour fail even while tracing is off, so turning
    it on later cannot be the moment a typo is found.
    """
    for variable in _OTLP_PROTOCOL_VARIABLES:
        protocol = environ.get(variable, "").strip().lower()
        if protocol and protocol != "http/protobuf":
            raise ValueError(f"{variable}={protocol!r} is not supported; use http/protobuf")
    exporter = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter not in (*_EXPORTERS, "", "none"):
        raise ValueError(
            f"OTEL_TRACES_EXPORTER={exporter!r} is not supported; use one of "
            f"{', '.join(sorted(_EXPORTERS))} or none"
        )
    if exporter in ("", "none") or environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    return exporter


def configure_tracing(service: str, environ: Mapping[str, str] = os.environ) -> bool:
    """Install the process's tracer provider if the environment asks for one; True if on."""
    if _State.provider is not None:
        return True
    exporter_name = requested_exporter(environ)
    if exporter_name is None:
        return False
    # Imported here so a process with tracing off never loads the SDK.
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    exporter: SpanExporter
    if exporter_name == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()
    else:
        exporter = ConsoleSpanExporter()
    provider = new_tracer_provider(service, environ)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    install_tracer_provider(provider)
    return True


def new_tracer_provider(service: str, environ: Mapping[str, str] = os.environ) -> "TracerProvider":
    """A provider whose resource names ``service`` unless ``OTEL_SERVICE_NAME`` says otherwise."""
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider

    name = environ.get("OTEL_SERVICE_NAME") or service
    # Resource.create reads OTEL_RESOURCE_ATTRIBUTES; the sampler comes from OTEL_TRACES_SAMPLER.
    return TracerProvider(resource=Resource.create({SERVICE_NAME: name}))


def install_tracer_provider(provider: "TracerProvider") -> None:
    """Make ``provider`` the process's (the OTLP set-up above, or a test's in-memory one)."""
    _State.provider = provider
    if not _State.global_set:
        # The global can be set once per process; instrumentation here is always
        # given the provider explicitly, so a later one (a test's) still takes effect.
        _State.global_set = True
        trace.set_tracer_provider(provider)


def reset_tracing() -> None:
    """Turn tracing off for what is built from now on (tests)."""
    _State.provider = None


def tracing_enabled() -> bool:
    """Whether this process records spans."""
    return _State.provider is not None


def tracer(name: str) -> trace.Tracer | None:
    """A tracer when tracing is on; ``None`` lets hot paths skip span work entirely."""
    provider = _State.provider
    return provider.get_tracer(name) if provider is not None else None


def instrument_app(app: Any) -> None:
    """Server spans for every request (W3C ``traceparent`` extracted), if tracing is on."""
    if _State.provider is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    # No spans per ASGI receive/send message: three spans a request that say
    # nothing the server span does not.
    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=_State.provider,
        excluded_urls=_EXCLUDED_URLS,
        exclude_spans=["receive", "send"],
    )


def instrument_engine(engine: Any) -> None:
    """A span per SQL statement of an async engine, if tracing is on."""
    if _State.provider is None:
        return
    from opentelemetry.instrumentation.sqlalchemy import __name__ as scope
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
    from opentelemetry.metrics import NoOpMeter

    # Per engine, not SQLAlchemyInstrumentor: the instrumentor is a singleton that
    # instruments once per process and patches create_engine globally.
    connections = NoOpMeter(scope).create_up_down_counter("db.client.connections.usage")
    EngineTracer(  # type: ignore[no-untyped-call]
        _State.provider.get_tracer(scope), engine.sync_engine, connections
    )


def instrument_http_client(client: Any) -> None:
    """Client spans for an ``httpx`` client, injecting ``traceparent``, if tracing is on."""
    if _State.provider is None:
        return
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    HTTPXClientInstrumentor.instrument_client(client, tracer_provider=_State.provider)


def current_traceparent() -> str | None:
    """The W3C ``traceparent`` of the span in progress, to store with work done later."""
    if _State.provider is None:
        return None
    carrier: dict[str, str] = {}
    _TRACE_CONTEXT.inject(carrier)
    return carrier.get("traceparent")


def link_to(traceparent: str | None) -> list[trace.Link]:
    """A link to the span a stored ``traceparent`` names (none if absent or malformed)."""
    if not traceparent:
        return []
    context = trace.get_current_span(
        _TRACE_CONTEXT.extract({"traceparent": traceparent})
    ).get_span_context()
    return [trace.Link(context)] if context.is_valid else []


_NO_SPAN = nullcontext()


def statement_span(sql: str) -> AbstractContextManager[Any]:
    """A client span for one SQL statement sent past SQLAlchemy, as ``instrument_engine`` records."""
    if _State.provider is None:
        return _NO_SPAN
    return _State.provider.get_tracer(__name__).start_as_current_span(
        sql.split(" ", 1)[0],
        kind=trace.SpanKind.CLIENT,
        attributes={"db.system": "postgresql", "db.statement": sql},
    )
