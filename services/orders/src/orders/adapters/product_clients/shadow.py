"""``ShadowProductClient``: prove the HTTP client against the local one before cut-over.

The primary (local) client is authoritative: callers get its result, as soon
as it is ready. Reads are also sent to the candidate (HTTP) in a background
task bounded by ``timeout``; when both are done the results are compared
field by field (or, for errors, by exception type and attributes) and the
verdict goes to Prometheus and a structured log line. Writes go to the
primary only, so nothing is ever reserved, confirmed or released twice.

A difference is re-read before it is judged. The two sides read at different
moments (the candidate's read crosses the network and may take far longer),
so a write landing in between, e.g. an order reserving stock, makes two
healthy services disagree about ``stock_available``. So when the answers
differ, both sides are read again, concurrently, each attempt bounded by
``timeout``, up to ``rereads`` more times (2 by default). If an attempt agrees
the result is ``settled``: a difference a re-read did not reproduce, a race
with a write rather than a defect. Only a difference every attempt reproduces
is a ``mismatch``, logged with the differences of the first and the last
attempt. An attempt the candidate fails, or that outlasts ``timeout``, does
not agree. Only reads are ever re-read; candidate errors and timeouts are
judged at once, never re-read. Re-reads run in the comparison's background
task, after the caller has its answer: they never delay the caller, and the
task keeps its ``max_in_flight`` slot until its last attempt ends (reads
beyond the bound are ``skipped``, as before). The candidate's re-reads are
real calls of the http path, recorded under its ``mode="http"`` series; the
primary's are not observed.

``sample_rate`` mirrors only that fraction of reads, chosen at random per
read; the others are counted as ``sampled_out``. The rate is the
``shadow_sample_rate`` flag, which changes at run time: ``with_sample_rate``
returns a view at another rate that shares this client's comparisons in flight,
their bound and their shutdown.

With tracing on, each comparison is its own trace, linked to the caller's span
(``product_client.shadow_comparison``, its ``result`` as an attribute).
"""

import asyncio
import copy
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, Tracer
from pydantic import BaseModel, ValidationError

from orders.adapters.product_clients.metrics import (
    SHADOW_COMPARISONS,
    SHADOW_LATENCY_DELTA_SECONDS,
)
from orders.adapters.product_clients.observed import METHOD_ATTRIBUTE, SPAN_PREFIX
from orders.domain.product_client import ProductServiceClient
from shop_contracts.errors import DomainError, ProductsUnavailable
from shop_contracts.products import Product, ProductLookup, StockCheck
from shop_contracts.reservations import Reservation, ReservationLineRequest

logger = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)
Read = Callable[[ProductServiceClient], Awaitable[T]]

# Exception attributes that identify a domain error; ``detail`` is prose and
# may legitimately differ between the two sides.
_ERROR_ATTRIBUTES = ("product_ids", "reservation_id")
_MAX_REPORTED_FIELDS = 10

COMPARISON_SPAN = SPAN_PREFIX + "shadow_comparison"
RESULT_ATTRIBUTE = "product_client.shadow_result"


@dataclass(frozen=True, slots=True)
class _Outcome:
    """How one side of a shadowed read ended, and how long it took."""

    value: BaseModel | None
    error: BaseException | None
    seconds: float


class ShadowProductClient:
    """Primary answers; reads are mirrored to the candidate and compared in the background."""

    def __init__(
        self,
        primary: ProductServiceClient,
        candidate: ProductServiceClient,
        timeout: float,
        *,
        max_in_flight: int = 100,
        rereads: int = 2,
        sample_rate: float = 1.0,
        rng: random.Random | None = None,
        tracer: Tracer | None = None,
    ) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        if rereads < 0:
            raise ValueError("rereads must not be negative")
        self._rereads = rereads
        self._sample_rate = _checked_rate(sample_rate)
        self._tracer = tracer
        self._rng = rng or random.Random()
        self._primary = primary
        self._candidate = candidate
        self._timeout = timeout
        self._max_in_flight = max_in_flight
        # Strong references: the event loop keeps only weak ones to tasks.
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def sample_rate(self) -> float:
        """The fraction of reads this client mirrors."""
        return self._sample_rate

    def with_sample_rate(self, sample_rate: float) -> "ShadowProductClient":
        """This client at another sample rate (itself when the rate is the same).

        The view shares the primary, the candidate, the random source and the set
        of comparisons in flight, so ``max_in_flight``, ``drain`` and ``aclose``
        (on either) cover the comparisons of both.
        """
        if sample_rate == self._sample_rate:
            return self
        view = copy.copy(self)
        view._sample_rate = _checked_rate(sample_rate)
        return view

    @property
    def pending_comparisons(self) -> int:
        """Shadow reads whose comparison has not finished yet."""
        return len(self._tasks)

    async def get_product(self, product_id: UUID) -> Product:
        """One product, from the primary."""
        return await self._read("get_product", lambda c: c.get_product(product_id))

    async def lookup_products(self, product_ids: Sequence[UUID]) -> ProductLookup:
        """Many products, from the primary."""
        return await self._read("lookup_products", lambda c: c.lookup_products(product_ids))

    async def check_stock(self, product_id: UUID, quantity: int) -> StockCheck:
        """Stock availability, from the primary."""
        return await self._read("check_stock", lambda c: c.check_stock(product_id, quantity))

    async def get_reservation(self, reservation_id: UUID) -> Reservation:
        """A reservation's state, from the primary."""
        return await self._read("get_reservation", lambda c: c.get_reservation(reservation_id))

    async def reserve(
        self, reservation_key: str, lines: Sequence[ReservationLineRequest]
    ) -> Reservation:
        """Write: primary only."""
        return await self._primary.reserve(reservation_key, lines)

    async def confirm(self, reservation_id: UUID) -> Reservation:
        """Write: primary only."""
        return await self._primary.confirm(reservation_id)

    async def release(self, reservation_id: UUID) -> Reservation:
        """Write: primary only."""
        return await self._primary.release(reservation_id)

    async def release_by_key(self, reservation_key: str) -> Reservation:
        """Write: primary only."""
        return await self._primary.release_by_key(reservation_key)

    async def drain(self) -> None:
        """Wait for the comparisons in flight to finish (bounded by ``timeout``)."""
        await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self) -> None:
        """Cancel comparisons still running and wait for them (call on shutdown)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _sampled(self) -> bool:
        if self._sample_rate >= 1.0:
            return True
        return self._rng.random() < self._sample_rate

    async def _read(self, method: str, read: Read[T]) -> T:
        if not self._sampled():
            SHADOW_COMPARISONS.labels(method, "sampled_out").inc()
            return await read(self._primary)
        if len(self._tasks) >= self._max_in_flight:
            SHADOW_COMPARISONS.labels(method, "skipped").inc()
            return await read(self._primary)
        primary_done: asyncio.Future[_Outcome] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(self._shadow(method, read, primary_done))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        start = time.perf_counter()
        try:
            result = await read(self._primary)
        except BaseException as exc:
            primary_done.set_result(_Outcome(None, exc, time.perf_counter() - start))
            raise
        primary_done.set_result(_Outcome(result, None, time.perf_counter() - start))
        return result

    async def _shadow(
        self, method: str, read: Read[Any], primary_done: asyncio.Future[_Outcome]
    ) -> None:
        if self._tracer is None:
            await self._compare(method, read, primary_done)
            return
        # A new trace linked to the caller's span, not a child: the comparison may
        # outlive the request, and must not stretch its trace.
        caller = trace.get_current_span().get_span_context()
        with self._tracer.start_as_current_span(
            COMPARISON_SPAN,
            context=Context(),
            links=[Link(caller)] if caller.is_valid else None,
            attributes={METHOD_ATTRIBUTE: method},
        ) as span:
            result = await self._compare(method, read, primary_done)
            span.set_attribute(RESULT_ATTRIBUTE, result or "cancelled")

    async def _compare(
        self, method: str, read: Read[Any], primary_done: asyncio.Future[_Outcome]
    ) -> str | None:
        """The comparison's result label, or ``None`` when the caller gave up."""
        candidate = await self._read_side(self._candidate, read)
        primary = await primary_done
        if isinstance(primary.error, asyncio.CancelledError):
            return None  # the caller gave up; there is nothing authoritative to compare with
        failure = _candidate_failure(candidate)
        if failure is not None:
            return self._report(method, failure, primary, candidate)
        SHADOW_LATENCY_DELTA_SECONDS.labels(method).observe(candidate.seconds - primary.seconds)
        first = _differences(primary, candidate)
        if not first:
            return self._report(method, "match", primary, candidate)
        last = first
        for attempt in range(2, self._rereads + 2):
            last = await self._reread(read)
            if not last:
                return self._report(method, "settled", primary, candidate, first, attempt=attempt)
        return self._report(
            method, "mismatch", primary, candidate, first, last=last, attempt=self._rereads + 1
        )

    async def _read_side(self, client: ProductServiceClient, read: Read[Any]) -> _Outcome:
        """One side's read, bounded by ``timeout`` (a ``TimeoutError`` outcome past it)."""
        start = time.perf_counter()
        try:
            async with asyncio.timeout(self._timeout):
                value = await read(client)
            return _Outcome(value, None, time.perf_counter() - start)
        except TimeoutError:
            return _Outcome(None, TimeoutError(), time.perf_counter() - start)
        except Exception as exc:
            return _Outcome(None, exc, time.perf_counter() - start)

    async def _reread(self, read: Read[Any]) -> list[str]:
        """Both sides read again at once, each bounded by ``timeout``; the differences.

        An empty list means they agree now. A side that gave no answer (the
        candidate failed or timed out, the primary failed other than with a domain
        answer) makes the attempt inconclusive: it does not agree.
        """
        async with asyncio.TaskGroup() as group:
            primary_task = group.create_task(self._read_side(self._primary, read))
            candidate_task = group.create_task(self._read_side(self._candidate, read))
        primary, candidate = primary_task.result(), candidate_task.result()
        failure = _candidate_failure(candidate)
        if failure is not None:
            return [f"<re-read>: {failure}"]
        if primary.error is not None and not _is_domain_answer(primary.error):
            return [f"<re-read>: primary {type(primary.error).__name__}"]
        return _differences(primary, candidate)

    def _report(
        self,
        method: str,
        result: str,
        primary: _Outcome,
        candidate: _Outcome,
        differences: list[str] | None = None,
        *,
        last: list[str] | None = None,
        attempt: int = 1,
    ) -> str:
        SHADOW_COMPARISONS.labels(method, result).inc()
        if result == "match":
            return result
        # A settled difference is a race, not a fault: worth a line, not a warning.
        logger.log(
            logging.INFO if result == "settled" else logging.WARNING,
            "shadow product client %s on %s",
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


def _checked_rate(sample_rate: float) -> float:
    if not 0.0 <= sample_rate <= 1.0:
        raise ValueError("sample_rate must be between 0 and 1")
    return sample_rate


def _candidate_failure(candidate: _Outcome) -> str | None:
    """``candidate_timeout`` or ``candidate_error`` when the candidate gave no answer."""
    if isinstance(candidate.error, TimeoutError):
        return "candidate_timeout"
    if isinstance(candidate.error, ProductsUnavailable) or (
        candidate.error is not None and not _is_domain_answer(candidate.error)
    ):
        return "candidate_error"
    return None


def _is_domain_answer(exc: BaseException) -> bool:
    """An exception the contract defines (comparable), as opposed to a candidate bug."""
    return isinstance(exc, DomainError | ValidationError)


def _differences(primary: _Outcome, candidate: _Outcome) -> list[str]:
    """Dotted paths that differ; an empty list means the two answers agree."""
    if primary.error is not None or candidate.error is not None:
        return _error_differences(primary.error, candidate.error)
    assert primary.value is not None
    assert candidate.value is not None
    found: list[str] = []
    _diff(primary.value.model_dump(mode="json"), candidate.value.model_dump(mode="json"), "", found)
    return found[:_MAX_REPORTED_FIELDS]


def _error_differences(primary: BaseException | None, candidate: BaseException | None) -> list[str]:
    if primary is None or candidate is None:
        return ["<outcome>: value vs error" if primary is None else "<outcome>: error vs value"]
    if type(primary) is not type(candidate):
        return [f"<error>: {type(primary).__name__} vs {type(candidate).__name__}"]
    return [
        f"<error>.{name}"
        for name in _ERROR_ATTRIBUTES
        if getattr(primary, name, None) != getattr(candidate, name, None)
    ]


def _diff(primary: Any, candidate: Any, path: str, found: list[str]) -> None:
    if len(found) >= _MAX_REPORTED_FIELDS:
        return
    if isinstance(primary, dict) and isinstance(candidate, dict):
        for key in sorted(primary.keys() | candidate.keys()):
            _diff(primary.get(key), candidate.get(key), f"{path}.{key}" if path else key, found)
    elif (
        isinstance(primary, list) and isinstance(candidate, list) and len(primary) == len(candidate)
    ):
        for index, (left, right) in enumerate(zip(primary, candidate, strict=True)):
            _diff(left, right, f"{path}[{index}]", found)
    elif primary != candidate:
        found.append(path or "<value>")


def _describe(error: BaseException | None) -> str | None:
    return None if error is None else f"{type(error).__name__}: {error}"
