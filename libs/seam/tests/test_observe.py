"""Observe: the same span and latency series whatever implementation it wraps."""

import asyncio

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Span, SpanKind, StatusCode, Tracer

from libs.seam.tests.flagbook import Flags
from libs.seam.tests.inventory import (
    CALLS,
    METHODS,
    METRICS,
    Inventory,
    InventoryDown,
    MemoryInventory,
    NotStocked,
    QueueFull,
    Stock,
    error_code,
    inventory_seam,
    metric,
    outcome_of,
)
from seam import Mode, Observe, Seam, client, compose, on


def _observed(implementation: Inventory, mode: str, tracer: Tracer | None = None) -> Inventory:
    link = Observe(mode, METRICS, outcome_of, error_code, tracer)
    observed: Inventory = client(METHODS, compose([link], on(implementation)), "Observed")
    return observed


def _named(exporter: InMemorySpanExporter, prefix: str = "inventory.") -> list[ReadableSpan]:
    return [span for span in exporter.get_finished_spans() if span.name.startswith(prefix)]


@pytest.mark.parametrize("mode", ["local", "http", "shadow"])
async def test_every_mode_records_one_span_with_the_same_name_and_attributes(
    exporter: InMemorySpanExporter, tracer: Tracer, mode: str
) -> None:
    inventory = _observed(MemoryInventory({"mug": 3}), mode, tracer)

    await inventory.take("mug", 1)

    (span,) = _named(exporter)
    assert span.name == "inventory.take"
    assert span.kind is SpanKind.INTERNAL
    assert dict(span.attributes or {}) == {"inventory.mode": mode, "inventory.method": "take"}
    assert span.status.status_code is StatusCode.UNSET


async def test_a_failed_call_marks_its_span_with_error_and_problem_code(
    exporter: InMemorySpanExporter, tracer: Tracer
) -> None:
    inventory = _observed(MemoryInventory(error=InventoryDown("down")), "http", tracer)

    with pytest.raises(InventoryDown):
        await inventory.stock("mug")

    (span,) = _named(exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "inventory_down: down"
    assert (span.attributes or {})["inventory.problem_code"] == "inventory_down"
    assert (span.attributes or {})["error.type"] == "inventory_down"
    assert [event.name for event in span.events] == ["exception"]


async def test_a_domain_answer_carries_its_code_too(
    exporter: InMemorySpanExporter, tracer: Tracer
) -> None:
    inventory = _observed(MemoryInventory(), "local", tracer)

    with pytest.raises(NotStocked):
        await inventory.stock("mug")

    (span,) = _named(exporter)
    assert (span.attributes or {})["inventory.problem_code"] == "not_stocked"


async def test_an_error_outside_the_contract_has_its_type_and_no_problem_code(
    exporter: InMemorySpanExporter, tracer: Tracer
) -> None:
    inventory = _observed(MemoryInventory(error=RuntimeError("bug")), "local", tracer)

    with pytest.raises(RuntimeError):
        await inventory.stock("mug")

    (span,) = _named(exporter)
    assert "inventory.problem_code" not in (span.attributes or {})
    assert (span.attributes or {})["error.type"] == "RuntimeError"


async def test_without_a_tracer_no_span_is_made_but_the_call_is_measured(
    exporter: InMemorySpanExporter, tracer: Tracer
) -> None:
    seen: list[Span] = []

    class Watching(MemoryInventory):
        async def stock(self, item: str) -> Stock:
            seen.append(trace.get_current_span())
            return await super().stock(item)

    labels = {"mode": "local", "method": "stock", "outcome": "ok"}
    before = metric(CALLS, **labels)

    with tracer.start_as_current_span("request") as request:
        assert (await _observed(Watching({"mug": 1}), "local").stock("mug")).level == 1

    assert seen == [request]  # no span of the call's own between the request and the work
    assert _named(exporter) == []
    assert metric(CALLS, **labels) == before + 1


@pytest.mark.parametrize("mode", ["local", "http", "shadow"])
async def test_call_latency_is_recorded_under_the_mode_and_outcome(mode: str) -> None:
    inventory = _observed(MemoryInventory(), mode)
    labels = {"mode": mode, "method": "stock", "outcome": "not_stocked"}
    before = metric(CALLS, **labels)

    with pytest.raises(NotStocked):
        await inventory.stock("mug")

    assert metric(CALLS, **labels) == before + 1


async def test_a_call_the_caller_gave_up_on_is_recorded_as_cancelled() -> None:
    inventory = _observed(MemoryInventory({"mug": 1}, delay=10), "http")
    labels = {"mode": "http", "method": "stock", "outcome": "cancelled"}
    before = metric(CALLS, **labels)

    task = asyncio.create_task(inventory.stock("mug"))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert metric(CALLS, **labels) == before + 1


async def test_the_outcome_label_is_the_boundarys() -> None:
    # The caller may see the same error type either way; the boundary's labels tell
    # this process's own back-pressure from the remote side failing.
    for error, outcome in (
        (QueueFull("no slot"), "queue_full"),
        (InventoryDown(), "inventory_down"),
    ):
        inventory = _observed(MemoryInventory(error=error), "http")
        labels = {"mode": "http", "method": "stock", "outcome": outcome}
        before = metric(CALLS, **labels)
        with pytest.raises(InventoryDown):
            await inventory.stock("mug")
        assert metric(CALLS, **labels) == before + 1


async def test_shadow_comparison_is_a_linked_trace_not_a_child_of_the_call(
    exporter: InMemorySpanExporter, tracer: Tracer
) -> None:
    local, remote = MemoryInventory({"mug": 2}), MemoryInventory({"mug": 2})
    seam: Seam[Inventory] = inventory_seam(
        Mode.SHADOW, local=local, remote=remote, shadow_timeout=2.0, tracer=tracer
    )

    await seam.choose(Flags(Mode.SHADOW), "alice").stock("mug")
    assert seam.shadow is not None
    await seam.shadow.drain()

    calls = {
        str((span.attributes or {})["inventory.mode"]): span
        for span in _named(exporter, "inventory.stock")
    }
    assert set(calls) == {"shadow", "http"}
    call, mirrored = calls["shadow"], calls["http"]
    (comparison,) = _named(exporter, "inventory.shadow_comparison")
    assert call.context is not None
    assert comparison.context is not None
    assert comparison.parent is None
    assert comparison.context.trace_id != call.context.trace_id
    assert [link.context.span_id for link in comparison.links] == [call.context.span_id]
    assert (comparison.attributes or {})["inventory.shadow_result"] == "match"
    assert (comparison.attributes or {})["inventory.method"] == "stock"
    assert mirrored.parent is not None
    assert mirrored.parent.span_id == comparison.context.span_id
