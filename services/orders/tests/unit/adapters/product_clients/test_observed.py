"""The seam's Observe link over product clients: products' problem codes and outcome labels."""

from collections.abc import Callable, Iterator
from uuid import uuid4

import pytest
from fakes import FakeProductClient
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from orders.adapters.product_clients.backpressure import BulkheadFull
from orders.adapters.product_clients.boundary import METHODS, error_code, outcome_of
from orders.adapters.product_clients.metrics import SEAM
from orders.domain.product_client import ProductServiceClient
from seam import Observe, client, compose, on
from servicekit.testing import recorded_spans
from servicekit.tracing import tracer
from shop_contracts.errors import ProductNotFound, ProductsUnavailable
from shop_contracts.products import Product
from shop_contracts.reservations import ReservationLineRequest

Metric = Callable[..., float]
CALLS = "orders_product_client_call_duration_seconds_count"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Tracing on, into memory, for the test."""
    with recorded_spans() as exporter:
        yield exporter


def _named(exporter: InMemorySpanExporter, prefix: str = "product_client.") -> list[ReadableSpan]:
    return [span for span in exporter.get_finished_spans() if span.name.startswith(prefix)]


def _observed(inner: ProductServiceClient, mode: str, traced: bool = False) -> ProductServiceClient:
    link = Observe(mode, SEAM, outcome_of, error_code, tracer("test") if traced else None)
    observed: ProductServiceClient = client(METHODS, compose([link], on(inner)), "Observed")
    return observed


async def test_a_call_has_the_product_client_span_and_attributes(
    spans: InMemorySpanExporter,
) -> None:
    products = FakeProductClient()
    product = products.add(stock=3)
    observed = _observed(products, "http", traced=True)

    await observed.reserve("key-1", [ReservationLineRequest(product_id=product.id, quantity=1)])

    (span,) = _named(spans)
    assert span.name == "product_client.reserve"
    assert dict(span.attributes or {}) == {
        "product_client.mode": "http",
        "product_client.method": "reserve",
    }
    assert span.status.status_code is StatusCode.UNSET


async def test_a_failed_call_marks_its_span_with_error_and_problem_code(
    spans: InMemorySpanExporter,
) -> None:
    observed = _observed(FakeProductClient(down=True), "http", traced=True)

    with pytest.raises(ProductsUnavailable):
        await observed.get_product(uuid4())

    (span,) = _named(spans)
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["product_client.problem_code"] == "products_unavailable"
    assert (span.attributes or {})["error.type"] == "products_unavailable"
    assert [event.name for event in span.events] == ["exception"]


async def test_a_domain_answer_carries_its_code_too(spans: InMemorySpanExporter) -> None:
    observed = _observed(FakeProductClient(), "local", traced=True)

    with pytest.raises(ProductNotFound):
        await observed.get_product(uuid4())

    (span,) = _named(spans)
    assert (span.attributes or {})["product_client.problem_code"] == "product_not_found"


@pytest.mark.parametrize("mode", ["local", "http", "shadow"])
async def test_call_latency_is_recorded_under_the_mode_and_problem_code(
    metric: Metric, mode: str
) -> None:
    observed = _observed(FakeProductClient(), mode)
    labels = {"mode": mode, "method": "get_product", "outcome": "product_not_found"}
    before = metric(CALLS, **labels)

    with pytest.raises(ProductNotFound):
        await observed.get_product(uuid4())

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
    observed = _observed(_Refusing(error), "http")
    labels = {"mode": "http", "method": "get_product", "outcome": outcome}
    before = metric(CALLS, **labels)

    with pytest.raises(ProductsUnavailable):
        await observed.get_product(uuid4())

    assert metric(CALLS, **labels) == before + 1
