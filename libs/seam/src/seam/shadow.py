"""Shadow mode: the primary answers; sampled reads are mirrored to the candidate and compared (ADR 0025)."""

import asyncio
import logging
import random
import time
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link as SpanLink
from opentelemetry.trace import Tracer

from seam.chain import Call, Handler
from seam.compare import Answer, Comparer
from seam.metrics import SeamMetrics

logger = logging.getLogger(__name__)


class Shadow:
    """Comparisons in the background, a difference re-read before it is judged; ``at(rate)`` links."""

    def __init__(
        self,
        candidate: Handler,
        comparer: Comparer,
        metrics: SeamMetrics,
        timeout: float,
        *,
        max_in_flight: int = 100,
        rereads: int = 2,
        rng: random.Random | None = None,
        tracer: Tracer | None = None,
    ) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        if rereads < 0:
            raise ValueError("rereads must not be negative")
        self._candidate = candidate
        self._comparer = comparer
        self._metrics = metrics
        self._timeout = timeout
        self._max_in_flight = max_in_flight
        self._rereads = rereads
        self._rng = rng or random.Random()
        self._tracer = tracer
        # Strong references: the event loop keeps only weak ones to tasks.
        self._tasks: set[asyncio.Task[None]] = set()

    def at(self, rate: float) -> "ShadowAt":
        """The link mirroring ``rate`` of the reads (0..1); every rate shares this state."""
        if not 0.0 <= rate <= 1.0:
            raise ValueError("sample_rate must be between 0 and 1")
        return ShadowAt(self, rate)

    @property
    def pending(self) -> int:
        """Comparisons not finished yet."""
        return len(self._tasks)

    async def drain(self) -> None:
        """Wait for the comparisons in flight (each bounded by ``timeout``)."""
        await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self) -> None:
        """Cancel the comparisons still running and wait for them (shutdown)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def read(self, call: Call, primary: Handler, rate: float) -> Any:
        """The primary's answer to ``call``; a comparison started beside it when sampled."""
        method = call.method.name
        if rate < 1.0 and self._rng.random() >= rate:
            self._count(method, "sampled_out")
            return await primary(call)
        if len(self._tasks) >= self._max_in_flight:
            self._count(method, "skipped")
            return await primary(call)
        done: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(self._shadow(call, primary, done))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        start = time.perf_counter()
        try:
            result = await primary(call)
        except BaseException as exc:
            done.set_result(Answer(None, exc, time.perf_counter() - start))
            raise
        done.set_result(Answer(result, None, time.perf_counter() - start))
        return result

    def _count(self, method: str, result: str) -> None:
        self._metrics.shadow_comparisons.labels(method, result).inc()

    async def _shadow(self, call: Call, primary: Handler, done: "asyncio.Future[Answer]") -> None:
        if self._tracer is None:
            await self._compare(call, primary, done)
            return
        # A new trace linked to the caller's span, not a child: the comparison may
        # outlive the request and must not stretch its trace.
        caller = trace.get_current_span().get_span_context()
        prefix = self._metrics.span_prefix
        with self._tracer.start_as_current_span(
            prefix + "shadow_comparison",
            context=Context(),
            links=[SpanLink(caller)] if caller.is_valid else None,
            attributes={prefix + "method": call.method.name},
        ) as span:
            result = await self._compare(call, primary, done)
            span.set_attribute(prefix + "shadow_result", result or "cancelled")

    async def _compare(
        self, call: Call, primary_handler: Handler, done: "asyncio.Future[Answer]"
    ) -> str | None:
        """The comparison's result, or ``None`` when the caller gave up."""
        candidate = await self._side(self._candidate, call)
        primary = await done
        if isinstance(primary.error, asyncio.CancelledError):
            return None  # nothing authoritative to compare with
        failure = self._failure(candidate)
        if failure is not None:
            return self._report(call, failure, primary, candidate)
        delta = candidate.seconds - primary.seconds
        self._metrics.shadow_latency_delta.labels(call.method.name).observe(delta)
        first = self._comparer.differences(primary, candidate)
        if not first:
            return self._report(call, "match", primary, candidate)
        last = first
        for attempt in range(2, self._rereads + 2):
            last = await self._reread(call, primary_handler)
            if not last:
                return self._report(call, "settled", primary, candidate, first, attempt=attempt)
        attempts = self._rereads + 1
        return self._report(call, "mismatch", primary, candidate, first, last, attempts)

    async def _side(self, handler: Handler, call: Call) -> Answer:
        start = time.perf_counter()
        try:
            async with asyncio.timeout(self._timeout):
                value = await handler(call)
            return Answer(value, None, time.perf_counter() - start)
        except TimeoutError:
            return Answer(None, TimeoutError(), time.perf_counter() - start)
        except Exception as exc:
            return Answer(None, exc, time.perf_counter() - start)

    def _failure(self, candidate: Answer) -> str | None:
        if isinstance(candidate.error, TimeoutError):
            return "candidate_timeout"
        if candidate.error is not None and not self._comparer.is_answer(candidate.error):
            return "candidate_error"
        return None

    async def _reread(self, call: Call, primary_handler: Handler) -> list[str]:
        """Both sides again at once; a side without an answer makes the attempt disagree."""
        async with asyncio.TaskGroup() as group:
            primary_task = group.create_task(self._side(primary_handler, call))
            candidate_task = group.create_task(self._side(self._candidate, call))
        primary, candidate = primary_task.result(), candidate_task.result()
        failure = self._failure(candidate)
        if failure is not None:
            return [f"<re-read>: {failure}"]
        if primary.error is not None and not self._comparer.is_answer(primary.error):
            return [f"<re-read>: primary {type(primary.error).__name__}"]
        return self._comparer.differences(primary, candidate)

    def _report(
        self,
        call: Call,
        result: str,
        primary: Answer,
        candidate: Answer,
        differences: list[str] | None = None,
        last: list[str] | None = None,
        attempt: int = 1,
    ) -> str:
        method = call.method.name
        self._count(method, result)
        if result == "match":
            return result
        # A settled difference is a race, not a fault: worth a line, not a warning.
        logger.log(
            logging.INFO if result == "settled" else logging.WARNING,
            "shadow %s on %s",
            result,
            method,
            extra={
                "shadow_method": method,
                "shadow_result": result,
                "shadow_differences": differences or [],
                "shadow_last_differences": last or [],
                "shadow_attempts": attempt,
                "primary_error": _describe(primary.error),
                "candidate_error": _describe(candidate.error),
                "primary_seconds": round(primary.seconds, 6),
                "candidate_seconds": round(candidate.seconds, 6),
            },
        )
        return result


class ShadowAt:
    """The shadow link at one sample rate: writes and unshadowed reads go to the primary only."""

    def __init__(self, shadow: Shadow, rate: float) -> None:
        self.shadow = shadow
        self.rate = rate

    async def __call__(self, call: Call, next: Handler) -> Any:
        if not call.method.shadowed:
            return await next(call)
        return await self.shadow.read(call, next, self.rate)


def _describe(error: BaseException | None) -> str | None:
    return None if error is None else f"{type(error).__name__}: {error}"
