"""Traces across real processes: one trace per order over both services, the same in every mode.

The services export over OTLP/HTTP (the shipped exporter, configured only by
standard ``OTEL_*`` variables) to a receiver inside the test.
"""

import functools
import json
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import pytest

from tests.integration.stack import Shop, Stack, eventually
from tests.support.otlp import STATUS_ERROR, OtlpReceiver, ReceivedSpan
from tests.support.processes import ServiceProcess

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

PLACE = "POST /api/v1/orders"


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    running = OtlpReceiver().start()
    try:
        yield running
    finally:
        running.stop()


def _order_trace(
    receiver: OtlpReceiver, request_id: str, *, services: set[str]
) -> list[ReceivedSpan]:
    """The trace of the ``POST /orders`` that carried ``request_id``, once every service sent."""

    def complete() -> list[ReceivedSpan] | None:
        for span in receiver.spans():
            if span.name == PLACE and span.service == "orders":
                spans = receiver.trace(span.trace_id)
                if (
                    {s.service for s in spans} >= services
                    and "product_client.confirm" in {s.name for s in spans}
                    and any(s.attributes.get("request.id") == request_id for s in spans)
                ):
                    return spans
        return None

    return eventually(complete, timeout=15)


def _product_client_spans(spans: list[ReceivedSpan]) -> dict[str, ReceivedSpan]:
    return {s.name: s for s in spans if s.name.startswith("product_client.")}


def _by_id(spans: list[ReceivedSpan]) -> dict[str, ReceivedSpan]:
    return {s.span_id: s for s in spans}


def _linked_into(receiver: OtlpReceiver, trace_id: str, span_ids: set[str]) -> ReceivedSpan | None:
    """A span of ``trace_id`` that links to one of ``span_ids``, once received."""
    return next((s for s in receiver.trace(trace_id) if set(s.links) & span_ids), None)


def _log_records(process: ServiceProcess) -> list[dict[str, Any]]:
    records = []
    for line in process.read_log().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def test_http_mode_order_is_one_trace_across_both_processes(
    stack: Stack, shop: Shop, receiver: OtlpReceiver
) -> None:
    products = stack.start_products(receiver.exporter_env())
    orders = stack.start_orders("http", products, **receiver.exporter_env())
    product_id = shop.add_product(products, stock=5)
    request_id = f"it-trace-{uuid4().hex}"

    placed = shop.place(orders, "trace-http", {product_id: 1}, headers={"X-Request-ID": request_id})

    assert placed.status_code == 201, placed.text
    spans = _order_trace(receiver, request_id, services={"orders", "products"})
    by_id = _by_id(spans)
    calls = _product_client_spans(spans)
    assert {"product_client.reserve", "product_client.confirm"} <= set(calls)
    reserve = calls["product_client.reserve"]
    assert reserve.attributes["product_client.mode"] == "http"
    # reserve -> httpx client span (orders) -> server span (products) -> SQL (products)
    (server,) = [
        s for s in spans if s.service == "products" and s.name == "POST /api/v1/reservations"
    ]
    client_span = by_id[server.parent_span_id]
    assert client_span.service == "orders"
    assert client_span.parent_span_id == reserve.span_id
    assert any(
        s.parent_span_id == server.span_id and s.attributes.get("db.system") == "postgresql"
        for s in spans
    )
    # The logs of both processes name the request's trace next to the request id;
    # work done later for the request (the outbox relay's dispatch) logs the same
    # request id in its own trace, which links back into the request's.
    trace_id = reserve.trace_id
    in_request = {s.span_id for s in spans}
    for process in (orders, products):
        logged = [r for r in _log_records(process) if r.get("request_id") == request_id]
        assert logged, process.package
        traces = {str(r.get("trace_id")) for r in logged}
        assert trace_id in traces, process.package
        for later in traces - {trace_id}:
            eventually(functools.partial(_linked_into, receiver, later, in_request), timeout=15)


def test_local_mode_product_client_spans_read_like_http_mode(
    stack: Stack, shop: Shop, receiver: OtlpReceiver
) -> None:
    products = stack.start_products(receiver.exporter_env())
    http_orders = stack.start_orders("http", products, **receiver.exporter_env())
    product_id = shop.add_product(products, stock=5)
    http_id, local_id = f"it-http-{uuid4().hex}", f"it-local-{uuid4().hex}"
    assert shop.place(
        http_orders, "t", {product_id: 1}, headers={"X-Request-ID": http_id}
    ).is_success
    http_orders.stop()
    local_orders = stack.start_orders("local", None, **receiver.exporter_env())

    placed = shop.place(local_orders, "t", {product_id: 1}, headers={"X-Request-ID": local_id})

    assert placed.status_code == 201, placed.text
    http_calls = _product_client_spans(_order_trace(receiver, http_id, services={"products"}))
    local_calls = _product_client_spans(_order_trace(receiver, local_id, services={"orders"}))
    assert set(local_calls) == set(http_calls)
    for name, span in local_calls.items():
        assert span.attributes["product_client.mode"] == "local"
        assert set(span.attributes) == set(http_calls[name].attributes), name


def test_a_failed_products_call_marks_its_span_with_error_and_problem_code(
    stack: Stack, shop: Shop, receiver: OtlpReceiver
) -> None:
    products = stack.start_products(receiver.exporter_env())
    orders = stack.start_orders("http", products, **receiver.exporter_env())

    refused = shop.place(orders, "trace-missing", {uuid4(): 1})

    assert refused.status_code == 404, refused.text
    code = refused.json()["code"]

    def failed_call() -> ReceivedSpan | None:
        return next(
            (
                s
                for s in receiver.spans()
                if s.name.startswith("product_client.") and s.status_code == STATUS_ERROR
            ),
            None,
        )

    span = eventually(failed_call, timeout=15)
    assert span.attributes["product_client.problem_code"] == code
    assert span.attributes["error.type"] == code
