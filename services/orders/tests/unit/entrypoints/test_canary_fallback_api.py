"""The canary fallback through the API: products fails, the share drops to 0, orders go local."""

from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import httpx
import pytest
from fakes import FakeProductClient
from harness import OrdersApi, canary_clients, make_settings, running_api
from prometheus_client import REGISTRY

from orders.adapters.product_clients.factory import ProductsSeam
from orders.adapters.product_clients.http import HttpClientConfig, build_http_product_client
from orders.config import ProductsClientMode, Settings

MIN_CALLS = 4


def metric(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


def _refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


@pytest.fixture
async def products_down_api(
    orders_db_url: str,
) -> AsyncIterator[tuple[OrdersApi, FakeProductClient]]:
    settings: Settings = make_settings(
        orders_db_url,
        products_client=ProductsClientMode.CANARY,
        canary_share=100,
        canary_fallback_min_calls=MIN_CALLS,
        products_url="http://products.test",
        products_max_attempts=1,
    )
    local = FakeProductClient()
    transport = httpx.MockTransport(_refused)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://products.test/api/v1"
    ) as raw:
        remote = build_http_product_client(HttpClientConfig.from_settings(settings), raw)
        async with running_api(settings, product_clients=canary_clients(local, remote)) as api:
            yield api, local


async def _place_until_the_fallback_trips(api: OrdersApi, product_id: UUID) -> list[httpx.Response]:
    """One order each for ``MIN_CALLS`` users, all on http (100 %) with products refusing every
    connection; then the fallback has judged them and its flag change has landed."""
    router: ProductsSeam = api.app.state.product_router
    assert router.fallback is not None
    placed = [await api.place(f"user-{n}", [(product_id, 1)]) for n in range(MIN_CALLS)]
    await router.fallback.settled()
    return placed


async def test_products_failing_trips_the_fallback_and_orders_go_local(
    products_down_api: tuple[OrdersApi, FakeProductClient],
) -> None:
    api, local = products_down_api
    mug = local.add(stock=10)
    trips = metric("orders_canary_fallback_trips_total")

    for failed in await _place_until_the_fallback_trips(api, mug.id):
        assert failed.status_code == 503, failed.text
        assert failed.json()["code"] == "products_unavailable"

    assert metric("orders_canary_fallback_trips_total") == trips + 1
    assert metric("orders_canary_fallback_active") == 1
    ready = await api.http.get("/health/ready")
    assert ready.status_code == 200  # local serves everyone: still ready
    report = ready.json()["checks"]["products"]
    assert (report["status"], report["mode"], report["canary_share"]) == ("degraded", "canary", 0)
    assert report["fallback"]["reason"] == (
        f"http error rate 1.000 (max 0.05), p95 {_p95(report)}s (max 1.0s)"
        f" over {MIN_CALLS} calls in 60s (min {MIN_CALLS})"
    )
    assert report["fallback"]["at"]
    flags = api.app.state.flags.overrides()["canary_share"]
    assert (flags.value, flags.updated_by) == (0, "canary-fallback")

    for n in range(MIN_CALLS):
        placed = await api.place(f"user-{n}", [(mug.id, 1)])
        assert placed.status_code == 201, placed.text
        assert placed.json()["status"] == "confirmed"
    assert local.stock[mug.id] == 10 - MIN_CALLS
    assert local.calls.count("reserve") == MIN_CALLS


def _p95(report: dict[str, Any]) -> str:
    # The latency is whatever the refused connections took; the rest of the reason is exact.
    reason: str = report["fallback"]["reason"]
    return reason.split("p95 ")[1].split("s ")[0]


async def test_the_admin_flags_show_the_fallback_until_an_operator_reopens(
    products_down_api: tuple[OrdersApi, FakeProductClient],
) -> None:
    api, local = products_down_api
    mug = local.add(stock=10)
    router: ProductsSeam = api.app.state.product_router
    assert router.fallback is not None
    admin = api.auth("root", "admin")
    before = (await api.http.get("/api/v1/admin/flags", headers=admin)).json()
    assert before["fallback"] is None

    await _place_until_the_fallback_trips(api, mug.id)

    tripped = (await api.http.get("/api/v1/admin/flags", headers=admin)).json()
    state = router.fallback.state()
    assert state is not None
    assert tripped["fallback"] == {
        "at": tripped["overrides"]["canary_share"]["updated_at"],
        "reason": state.reason,
        "pending": False,
    }
    assert tripped["fallback"]["reason"].startswith("http error rate 1.000 (max 0.05)")

    reopened = await api.http.patch(
        "/api/v1/admin/flags",
        json={"changes": {"canary_share": 5}, "reason": "products is back"},
        headers=admin,
    )
    assert reopened.status_code == 200, reopened.text
    assert reopened.json()["fallback"] is None
