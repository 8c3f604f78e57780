"""ObservedProductClient: the same span and metric series whatever client it wraps."""

from collections.abc import Callable, Iterator
from uuid import uuid4

import pytest
from fakes import FakeProductClient
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from orders.adapters.product_clients.backpressure import BulkheadFull
from orders.adapters.product_clients.observed import ObservedProductClient
from orders.adapters.product_clients.shadow import ShadowProductClient
from servicekit.testing import recorded_spans
from servicekit.tracing import tracer
from shop_contracts.errors import ProductNotFound, ProductsUnavailable
from shop_contracts.products import Product
from shop_contracts.reservations import ReservationLineRequest

Metric = Callable[..., float]
CALLS = "orders_product_client_call_duration_seconds_count"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    with recorded_spans() as exporter:
        yield exporter


def _named(exporter: InMemorySpanExporter, prefix: str = "product_client.") -> list[ReadableSpan]:
    return [span for span in exporter.get_finished_spans() if span.name.startswith(prefix)]


@pytest.mark.parametrize("mode", ["local", "http", "shadow"])
async def test_every_mode_records_one_span_with_the_same_name_and_attributes(
    spans: InMemorySpanExporter, mode: str
) -> None:
    products = FakeProductClient()
    product = products.add(stock=3)
    client = ObservedProductClient(products, mode, tracer("test"))

    await client.reserve("key-1", [ReservationLineRequest(product_id=product.id, quantity=1)])

    (span,) = _named(spans)
    assert span.name == "product_client.reserve"
    assert span.kind is SpanKind.INTERNAL
    assert dict(span.attributes or {}) == {
        "product_client.mode": mode,
        "product_client.method": "reserve",
    }
    assert span.status.status_code is StatusCode.UNSET


async def test_a_failed_call_marks_its_span_with_error_and_problem_code(
    spans: InMemorySpanExporter,
) -> None:
    client = ObservedProductClient(FakeProductClient(down=True), "http", tracer("test"))

    with pytest.raises(ProductsUnavailable):
        await client.get_product(uuid4())

    (span,) = _named(spans)
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["product_client.problem_code"] == "products_unavailable"
    assert (span.attributes or {})["error.type"] == "products_unavailable"
    assert [event.name for event in span.events] == ["exception"]


async def test_a_domain_answer_carries_its_code_too(spans: InMemorySpanExporter) -> None:
    client = ObservedProductClient(FakeProductClient(), "local", tracer("test"))

    with pytest.raises(ProductNotFound):
        await client.get_product(uuid4())

    (span,) = _named(spans)
    assert (span.attributes or {})["product_client.problem_code"] == "product_not_found"


async def test_without_a_tracer_no_span_is_made_but_the_call_is_measured(
    spans: InMemorySpanExporter, metric: Metric
) -> None:
    products = FakeProductClient()
    product = products.add()
    labels = {"mode": "local", "method": "get_product", "outcome": "ok"}
    before = metric(CALLS, **labels)

    assert await ObservedProductClient(products, "local").get_product(product.id) == product

    assert _named(spans) == []
    assert metric(CALLS, **labels) == before + 1


@pytest.mark.parametrize("mode", ["local", "http", "shadow"])
async def test_call_latency_is_recorded_under_the_mode_and_outcome(
    metric: Metric, mode: str
) -> None:
    client = ObservedProductClient(FakeProductClient(), mode)
    labels = {"mode": mode, "method": "get_product", "outcome": "product_not_found"}
    before = metric(CALLS, **labels)

    with pytest.raises(ProductNotFound):
        await client.get_product(uuid4())

    assert metric(CALLS, **labels) == before + 1


class _Refusing(FakeProductClient):
    """Every ``get_product`` raises the given error."""

    def __init__(self, error: ProductsUnavailable) -> None:
        super().__init__()
        self.error = error

    async def get_product(self, product_id: object) -> Product:
        raise self.error


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (BulkheadFull("no slot freed up in time", retry_after=1), "queue_full"),
        (ProductsUnavailable("products is down", retry_after=1), "products_unavailable"),
    ],
)
async def test_orders_own_queue_refusing_is_not_recorded_as_products_unavailable(
    metric: Metric, error: ProductsUnavailable, outcome: str
) -> None:
    # The caller sees products_unavailable either way; the series (and so the cut-over
    # report's http error rate) tells orders' back-pressure from products failing.
    client = ObservedProductClient(_Refusing(error), "http")
    labels = {"mode": "http", "method": "get_product", "outcome": outcome}
    before = metric(CALLS, **labels)

    with pytest.raises(ProductsUnavailable):
        await client.get_product(uuid4())

    assert metric(CALLS, **labels) == before + 1


async def test_shadow_comparison_is_a_linked_trace_not_a_child_of_the_call(
    spans: InMemorySpanExporter,
) -> None:
    primary = FakeProductClient()
    product = primary.add()
    candidate = FakeProductClient(products=dict(primary.products), stock=dict(primary.stock))
    shadow = ShadowProductClient(
        primary,
        ObservedProductClient(candidate, "http", tracer("test")),
        2.0,
        tracer=tracer("test"),
    )
    client = ObservedProductClient(shadow, "shadow", tracer("test"))

    await client.get_product(product.id)
    await shadow.drain()

    calls = {
        str((span.attributes or {})["product_client.mode"]): span
        for span in _named(spans, "product_client.get_product")
    }
    assert set(calls) == {"shadow", "http"}
    call, mirrored = calls["shadow"], calls["http"]
    (comparison,) = _named(spans, "product_client.shadow_comparison")
    assert call.context is not None
    assert comparison.context is not None
    assert comparison.parent is None
    assert comparison.context.trace_id != call.context.trace_id
    assert [link.context.span_id for link in comparison.links] == [call.context.span_id]
    assert (comparison.attributes or {})["product_client.shadow_result"] == "match"
    assert mirrored.parent is not None
    assert mirrored.parent.span_id == comparison.context.span_id
