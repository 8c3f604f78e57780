"""create_app: backend selection by settings, readiness checks, the documented surface."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
import respx
from fakes import FakeProductClient, RecordingNotifier
from harness import make_settings, running_api

from orders.config import ProductsClientMode, Settings
from orders.main import create_app
from products.facade import upgrade_products_database


@pytest.fixture
def router() -> respx.Router:
    return respx.Router(assert_all_called=False)


@pytest.fixture
async def external(router: respx.Router) -> AsyncIterator[httpx.AsyncClient]:
    client = httpx.AsyncClient(transport=httpx.MockTransport(router.async_handler))
    yield client
    await client.aclose()


async def test_stripe_backend_is_used_when_configured(
    orders_db_url: str,
    products: FakeProductClient,
    router: respx.Router,
    external: httpx.AsyncClient,
) -> None:
    route = router.post("https://stripe.test/v1/payment_intents").mock(
        return_value=httpx.Response(200, json={"id": "pi_9", "status": "succeeded"})
    )
    settings = make_settings(
        orders_db_url,
        payments_backend="stripe",
        stripe_api_key="sk_test_x",
        stripe_url="https://stripe.test/v1",
    )
    mug = products.add(price="7.00")

    async with running_api(settings, product_client=products, http_client=external) as api:
        order_id = (await api.place("alice", [(mug.id, 1)])).json()["id"]
        paid = await api.http.post(f"/api/v1/orders/{order_id}/pay", headers=api.auth("alice"))

    assert paid.json()["payment_id"] == "pi_9"
    assert route.calls.last.request.headers["Idempotency-Key"] == f"charge:{order_id}"


async def test_sendgrid_backend_sends_the_confirmation_email(
    orders_db_url: str,
    products: FakeProductClient,
    router: respx.Router,
    external: httpx.AsyncClient,
) -> None:
    sent = asyncio.Event()

    def accept(request: httpx.Request) -> httpx.Response:
        sent.set()
        return httpx.Response(202)

    route = router.post("https://sendgrid.test/send").mock(side_effect=accept)
    settings = make_settings(
        orders_db_url,
        notifications_backend="sendgrid",
        sendgrid_api_key="SG.k",
        sendgrid_url="https://sendgrid.test/send",
        run_outbox_relay=True,
        outbox_poll_interval_seconds=0.02,
    )
    mug = products.add()

    async with running_api(settings, product_client=products, http_client=external) as api:
        await api.place("alice", [(mug.id, 1)])
        await asyncio.wait_for(sent.wait(), timeout=5)

    assert route.calls.last.request.headers["Authorization"] == "Bearer SG.k"


def test_external_backends_refuse_to_start_without_keys(orders_db_url: str) -> None:
    with pytest.raises(ValueError, match="APP_STRIPE_API_KEY"):
        make_settings(orders_db_url, payments_backend="stripe")
    with pytest.raises(ValueError, match="APP_SENDGRID_API_KEY"):
        make_settings(orders_db_url, notifications_backend="sendgrid")


_PRODUCTION_AUTH = {
    "environment": "production",
    "jwt_jwks_url": "https://idp.example.com/certs",
    "jwt_issuer": "https://idp.example.com",
    "jwt_audience": "shop",
}


def test_production_refuses_fault_injection(orders_db_url: str) -> None:
    with pytest.raises(ValueError, match="APP_FAULT_INJECTION"):
        make_settings(
            orders_db_url,
            **_PRODUCTION_AUTH,
            service_token="y" * 40,
            fault_injection="exit_after_reserve",
        )


@pytest.mark.parametrize("token", [None, "short"])
def test_production_refuses_a_default_or_short_service_token(
    orders_db_url: str, token: str | None
) -> None:
    extra = {} if token is None else {"service_token": token}
    with pytest.raises(ValueError, match="APP_SERVICE_TOKEN"):
        make_settings(orders_db_url, **_PRODUCTION_AUTH, **extra)
    assert make_settings(orders_db_url, **_PRODUCTION_AUTH, service_token="y" * 40).is_production


async def _products_readiness(settings: Settings) -> dict[str, Any]:
    async with running_api(settings) as api:
        response = await api.http.get("/health/ready")
    assert response.status_code == 200
    report: dict[str, Any] = response.json()["checks"]["products"]
    return report


async def test_http_mode_builds_the_http_client_and_reports_its_breaker(
    orders_db_url: str,
) -> None:
    settings = make_settings(
        orders_db_url, products_client=ProductsClientMode.HTTP, products_url="http://127.0.0.1:9"
    )

    report = await _products_readiness(settings)

    # Asked before the first readiness check of products (1 s after start).
    assert report == {
        "status": "up",
        "mode": "http",
        "breaker": "closed",
        "limit": 20,
        "in_flight": 0,
        "startup_mode": "http",
        "choosable": ["http"],
    }


async def test_local_mode_runs_products_in_process_and_reports_its_database(
    orders_db_url: str, tmp_path: Path
) -> None:
    settings = make_settings(
        orders_db_url,
        products_client=ProductsClientMode.LOCAL,
        products_database_url=f"sqlite+aiosqlite:///{tmp_path / 'products.db'}",
        run_migrations_on_startup=True,
        run_products_sweeper=False,
    )

    report = await _products_readiness(settings)

    assert (report["status"], report["mode"], report["backend"]) == ("up", "local", "sqlite")


async def test_http_readiness_says_degraded_while_the_circuit_is_open(
    orders_db_url: str,
) -> None:
    settings = make_settings(
        orders_db_url,
        products_client=ProductsClientMode.HTTP,
        products_url="http://127.0.0.1:9",
        products_max_attempts=1,
        products_breaker_failure_threshold=1,
    )
    async with running_api(settings) as api:
        quote = await api.http.post(
            "/api/v1/orders/quote",
            json={"items": [{"product_id": str(uuid4()), "quantity": 1}]},
            headers=api.auth("alice"),
        )
        ready = await api.http.get("/health/ready")

    assert quote.status_code == 503
    assert quote.json()["code"] == "products_unavailable"
    assert ready.status_code == 200
    assert ready.json()["checks"]["products"] == {
        "status": "degraded",
        "mode": "http",
        "breaker": "open",
        "opened_because": "1 consecutive failures",
        "limit": 20,
        "in_flight": 0,
        "startup_mode": "http",
        "choosable": ["http"],
    }


async def test_shadow_mode_wraps_local_as_primary_and_http_as_candidate(
    orders_db_url: str, tmp_path: Path
) -> None:
    products_db = f"sqlite+aiosqlite:///{tmp_path / 'products.db'}"
    await upgrade_products_database(products_db)
    settings = make_settings(
        orders_db_url,
        products_client=ProductsClientMode.SHADOW,
        products_url="http://127.0.0.1:9",
        products_database_url=products_db,
        run_products_sweeper=False,
    )

    report = await _products_readiness(settings)

    assert (report["status"], report["mode"], report["backend"]) == ("up", "shadow", "sqlite")
    assert report["candidate"] == {
        "mode": "http",
        "breaker": "closed",
        "limit": 20,
        "in_flight": 0,
    }


async def test_readiness_reports_database_and_products(
    orders_db_url: str, products: FakeProductClient
) -> None:
    async with running_api(
        make_settings(orders_db_url), product_client=products, notifications=RecordingNotifier()
    ) as api:
        response = await api.http.get("/health/ready")

    assert response.status_code == 200
    assert set(response.json()["checks"]) == {"database", "products"}


def test_every_orders_route_is_documented() -> None:
    app = create_app(make_settings("sqlite+aiosqlite:///:memory:"))
    schema = app.openapi()
    operations = [
        (path, method, op)
        for path, item in schema["paths"].items()
        if path.startswith(("/api/v1/orders", "/api/v1/availability"))
        for method, op in item.items()
    ]

    assert sorted((method, path) for path, method, _ in operations) == [
        ("get", "/api/v1/availability/{product_id}"),
        ("get", "/api/v1/orders"),
        ("get", "/api/v1/orders/summary"),
        ("get", "/api/v1/orders/{order_id}"),
        ("patch", "/api/v1/orders/{order_id}/status"),
        ("post", "/api/v1/orders"),
        ("post", "/api/v1/orders/quote"),
        ("post", "/api/v1/orders/{order_id}/cancel"),
        ("post", "/api/v1/orders/{order_id}/pay"),
    ]
    for path, method, op in operations:
        assert op.get("description"), (path, method)
        assert "401" in op["responses"], (path, method)
        if method in {"post", "patch"} and "requestBody" in op:
            assert "400" in op["responses"], (path, method)
