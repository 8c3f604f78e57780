"""The first link of every chain: one latency observation and, with tracing on, one span per call."""

import asyncio
import time
from collections.abc import Callable
from typing import Any

from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer
from prometheus_client import Histogram

from seam.chain import Call, Handler
from seam.metrics import SeamMetrics

Outcome = Callable[[BaseException | None], str]
"""A bounded label for how a call ended: ``ok``, an error code, ``error``..."""
ErrorCode = Callable[[BaseException], str | None]
"""The contract's code of an exception, when it has one (a span attribute)."""


class Observe:
    """Records the call under ``mode``: the same series and span names in every mode."""

    def __init__(
        self,
        mode: str,
        metrics: SeamMetrics,
        outcome: Outcome,
        error_code: ErrorCode,
        tracer: Tracer | None = None,
    ) -> None:
        self._mode = mode
        self._metrics = metrics
        self._outcome = outcome
        self._error_code = error_code
        self._tracer = tracer
        prefix = metrics.span_prefix
        self._attributes = (prefix + "mode", prefix + "method", prefix + "problem_code")
        # Labelled children, looked up once: ``labels()`` costs more than the rest of a call.
        self._children: dict[tuple[str, str], Histogram] = {}

    async def __call__(self, call: Call, next: Handler) -> Any:
        start = time.perf_counter()
        error: BaseException | None = None
        try:
            if self._tracer is None:
                return await next(call)
            return await self._traced(call, next)
        except BaseException as exc:
            error = exc
            raise
        finally:
            outcome = (
                "cancelled" if isinstance(error, asyncio.CancelledError) else self._outcome(error)
            )
            self._child(call.method.name, outcome).observe(time.perf_counter() - start)

    def _child(self, method: str, outcome: str) -> Histogram:
        child = self._children.get((method, outcome))
        if child is None:
            child = self._metrics.calls.labels(self._mode, method, outcome)
            self._children[(method, outcome)] = child
        return child

    async def _traced(self, call: Call, next: Handler) -> Any:
        assert self._tracer is not None
        mode, method, _ = self._attributes
        with self._tracer.start_as_current_span(
            self._metrics.span_prefix + call.method.name,
            kind=SpanKind.INTERNAL,
            attributes={mode: self._mode, method: call.method.name},
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                return await next(call)
            except BaseException as exc:
                self._mark_failed(span, exc)
                raise

    def _mark_failed(self, span: Span, exc: BaseException) -> None:
        code = self._error_code(exc)
        if code is not None:
            span.set_attribute(self._attributes[2], code)
        error_type = code or type(exc).__qualname__
        span.set_attribute("error.type", error_type)
        span.record_exception(exc)
        span.set_status(Status(StatusCode.ERROR, f"{error_type}: {exc}"))
