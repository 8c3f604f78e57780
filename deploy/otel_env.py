"""``OTEL_*`` variables in a deployment (compose or Kubernetes): names the SDK reads, values we honour."""

from collections.abc import Mapping

from servicekit.tracing import requested_exporter

# The standard variables the services' tracing reads (servicekit.tracing and the
# OpenTelemetry SDK under it); a misspelt one would be silently ignored.
KNOWN = frozenset(
    {
        "OTEL_SDK_DISABLED",
        "OTEL_SERVICE_NAME",
        "OTEL_RESOURCE_ATTRIBUTES",
        "OTEL_TRACES_EXPORTER",
        "OTEL_TRACES_SAMPLER",
        "OTEL_TRACES_SAMPLER_ARG",
        "OTEL_PROPAGATORS",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        "OTEL_EXPORTER_OTLP_HEADERS",
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
        "OTEL_EXPORTER_OTLP_TIMEOUT",
        "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
        "OTEL_EXPORTER_OTLP_COMPRESSION",
        "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
        "OTEL_EXPORTER_OTLP_CERTIFICATE",
        "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
        "OTEL_BSP_SCHEDULE_DELAY",
        "OTEL_BSP_EXPORT_TIMEOUT",
        "OTEL_BSP_MAX_QUEUE_SIZE",
        "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
    }
)


def otel_env_problems(name: str, env: Mapping[str, str]) -> list[str]:
    """Unknown ``OTEL_*`` names, and exporter or protocol values the services refuse."""
    otel = {key: value for key, value in env.items() if key.startswith("OTEL_")}
    problems = [
        f"{name}: {key} is not an OpenTelemetry variable the services read"
        for key in sorted(otel.keys() - KNOWN)
    ]
    try:
        requested_exporter(otel)
    except ValueError as exc:
        problems.append(f"{name}: {exc}")
    return problems
