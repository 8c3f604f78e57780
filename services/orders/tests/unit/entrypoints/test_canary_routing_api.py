"""Canary routing through the API: each request's product calls go to one client only."""

import asyncio
from collections.abc import AsyncIterator, Callable
from functools import partial

import pytest
from fakes import FakeProductClient
from harness import OrdersApi, canary_clients, make_settings, running_api
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncEngine

from cutover.flags import FALLBACK_ACTOR, SqlFlagStore
from orders.adapters.db.tables import feature_flag_tables
from orders.application.place_order import _releases_in_flight
from orders.bootstrap.flags import ORDERS_FLAGS
from orders.config import FeatureFlags, ProductsClientMode, default_flags
from orders.domain.product_client import ProductServiceClient
from seam import on_remote

USERS = [f"user-{n}" for n in range(24)]


def metric(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


def _twins() -> tuple[FakeProductClient, FakeProductClient]:
    """Two clients over the same products data, each with its own call log."""
    local = FakeProductClient()
    http = FakeProductClient(
        products=local.products, stock=local.stock, by_key=local.by_key, by_id=local.by_id
    )
    return local, http


@pytest.fixture
def twins() -> tuple[FakeProductClient, FakeProductClient]:
    return _twins()


@pytest.fixture
async def canary_api(
    orders_db_url: str, twins: tuple[FakeProductClient, FakeProductClient]
) -> AsyncIterator[OrdersApi]:
    local, http = twins
    clients = canary_clients(local, http)
    settings = make_settings(
        orders_db_url, products_client=ProductsClientMode.CANARY, canary_share=50
    )
    async with running_api(settings, product_clients=clients) as api:
        yield api


async def test_at_50_percent_a_users_placement_and_cancel_use_one_client(
    canary_api: OrdersApi, twins: tuple[FakeProductClient, FakeProductClient]
) -> None:
    local, http = twins
    mug = local.add(stock=1_000)
    served: dict[bool, int] = {True: 0, False: 0}

    for user in USERS:
        expected, other = (http, local) if on_remote(user, 50) else (local, http)
        mine, theirs = len(expected.calls), len(other.calls)

        placed = await canary_api.place(user, [(mug.id, 1)])
        assert placed.status_code == 201, placed.text
        cancelled = await canary_api.http.post(
            f"/api/v1/orders/{placed.json()['id']}/cancel",
            json={"reason": "changed my mind"},
            headers=canary_api.auth(user),
        )
        assert cancelled.status_code == 200, cancelled.text

        assert expected.calls[mine:] == ["reserve", "confirm", "release"]
        assert other.calls[theirs:] == []
        served[on_remote(user, 50)] += 1

    assert served[True] > 0
    assert served[False] > 0
    assert local.stock[mug.id] == 1_000


async def test_a_failed_placements_release_by_key_goes_through_the_same_client(
    canary_api: OrdersApi, twins: tuple[FakeProductClient, FakeProductClient]
) -> None:
    local, http = twins
    mug = local.add(stock=5)
    for user in (
        next(u for u in USERS if on_remote(u, 50)),
        next(u for u in USERS if not on_remote(u, 50)),
    ):
        expected, other = (http, local) if on_remote(user, 50) else (local, http)
        expected.lose_answer["reserve"] = 1
        mine, theirs = len(expected.calls), len(other.calls)

        response = await canary_api.place(user, [(mug.id, 2)])

        assert response.status_code == 503
        await asyncio.gather(*_releases_in_flight)  # the release may outlast the answer
        assert expected.calls[mine:] == ["reserve", "release_by_key"]
        assert other.calls[theirs:] == []
    assert local.stock[mug.id] == 5


async def test_background_work_uses_the_local_client(
    canary_api: OrdersApi, twins: tuple[FakeProductClient, FakeProductClient]
) -> None:
    local, http = twins
    mug = local.add(stock=5)
    http.add(stock=5)
    products: ProductServiceClient = canary_api.app.state.orders.products

    await products.get_product(mug.id)

    assert local.calls[-1:] == ["get_product"]
    assert "get_product" not in http.calls


async def test_readiness_reports_the_run_time_mode_and_share(canary_api: OrdersApi) -> None:
    response = await canary_api.http.get("/health/ready")

    assert response.status_code == 200
    report = response.json()["checks"]["products"]
    assert (report["status"], report["mode"], report["canary_share"]) == ("up", "canary", 50)


async def _eventually(read: Callable[[], float], expected: float, within: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while read() != expected:
        assert asyncio.get_running_loop().time() < deadline, f"{read()} never became {expected}"
        await asyncio.sleep(0.02)


async def test_an_idle_process_gauges_follow_changes_made_elsewhere(
    orders_db_url: str, engine: AsyncEngine, twins: tuple[FakeProductClient, FakeProductClient]
) -> None:
    local, http = twins
    clients = canary_clients(local, http)
    settings = make_settings(
        orders_db_url,
        products_client=ProductsClientMode.CANARY,
        canary_share=50,
        flags_refresh_seconds=0.05,
    )
    share = partial(metric, "orders_flags_canary_share")
    active = partial(metric, "orders_canary_fallback_active")
    # Another process (worker, replica, the CLI) writing the same flags table.
    elsewhere = SqlFlagStore(
        engine, feature_flag_tables, ORDERS_FLAGS, default_flags(settings, FeatureFlags())
    )
    async with running_api(settings, product_clients=clients):
        # No request is made: the gauges follow the store on the refresh tick alone.
        await _eventually(share, 50)
        await elsewhere.change({"products_client": "local"}, actor="ops", reason="back")
        await _eventually(share, 0)
        await elsewhere.change(
            {"products_client": "canary", "canary_share": 0},
            actor=FALLBACK_ACTOR,
            reason="tripped in another worker",
        )
        await _eventually(active, 1)
        await elsewhere.change({"canary_share": 20}, actor="ops", reason="re-open")
        await _eventually(active, 0)
        await _eventually(share, 20)
