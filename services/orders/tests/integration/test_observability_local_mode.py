"""Local mode on PostgreSQL is observed like http mode: product-client metrics and spans."""

from uuid import UUID

import pytest
from harness import OrdersApi, make_settings, running_api
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from products.testing import Catalogue
from servicekit.db import create_engine
from servicekit.testing import recorded_spans

from .conftest import Databases, local_mode

pytestmark = pytest.mark.postgres

CALLS = "orders_product_client_call_duration_seconds"


async def _product_client_calls(api: OrdersApi) -> dict[tuple[str, str, str], float]:
    """``(mode, method, outcome) -> count`` as ``GET /metrics`` shows it."""
    response = await api.http.get("/metrics")
    assert response.status_code == 200
    return {
        (sample.labels["mode"], sample.labels["method"], sample.labels["outcome"]): sample.value
        for family in text_string_to_metric_families(response.text)
        if family.name == CALLS
        for sample in family.samples
        if sample.name == f"{CALLS}_count"
    }


async def _outbox_trace_contexts(orders_url: str, order_id: str) -> list[object]:
    engine = create_engine(orders_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT trace_context FROM outbox WHERE payload LIKE :id"),
                {"id": f'%"order_id": "{order_id}"%'},
            )
            return list(rows.scalars())
    finally:
        await engine.dispose()


async def test_local_mode_metrics_show_product_client_calls_with_the_local_mode_label(
    migrated: Databases, catalogue: Catalogue
) -> None:
    product = await catalogue.add(stock=5)

    async with running_api(make_settings(migrated.orders, **local_mode(migrated))) as api:
        before = await _product_client_calls(api)
        response = await api.place("metrics-local", [(product.id, 1)])
        after = await _product_client_calls(api)

    assert response.status_code == 201, response.text
    for method in ("reserve", "confirm"):
        key = ("local", method, "ok")
        assert after.get(key, 0) == before.get(key, 0) + 1, key


async def test_local_mode_order_is_one_trace_with_the_product_client_spans(
    migrated: Databases, catalogue: Catalogue
) -> None:
    product = await catalogue.add(stock=5)

    with recorded_spans() as spans:
        async with running_api(make_settings(migrated.orders, **local_mode(migrated))) as api:
            response = await api.place("traced-local", [(product.id, 2)])
        finished = spans.get_finished_spans()

    assert response.status_code == 201, response.text
    (server,) = [s for s in finished if s.name == "POST /api/v1/orders"]
    assert server.context is not None
    trace_id = server.context.trace_id
    in_trace = [s for s in finished if s.context is not None and s.context.trace_id == trace_id]
    by_name = {s.name: s for s in in_trace}
    assert {"product_client.reserve", "product_client.confirm"} <= set(by_name)
    reserve = by_name["product_client.reserve"]
    assert (reserve.attributes or {})["product_client.mode"] == "local"
    assert reserve.context is not None
    # The products database work of the in-process call hangs under its span.
    assert any(
        s.parent is not None
        and s.parent.span_id == reserve.context.span_id
        and (s.attributes or {}).get("db.system") == "postgresql"
        for s in in_trace
    )
    # Every event the request wrote remembers the request's trace.
    stored = await _outbox_trace_contexts(migrated.orders, str(UUID(response.json()["id"])))
    assert stored
    assert {str(value).split("-")[1] for value in stored} == {format(trace_id, "032x")}
