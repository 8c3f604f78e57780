"""Factories shared by the product client tests (exposed as fixtures: importlib mode)."""

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
import respx
from prometheus_client import REGISTRY
from pydantic import SecretStr

from orders.adapters.product_clients.backpressure import BulkheadFull
from orders.adapters.product_clients.http import HttpProductClient
from orders.adapters.product_clients.http.retries import RETRIES
from orders.adapters.product_clients.metrics import PROTECTION
from orders.config import Settings
from servicekit.http_client.guard import Guard
from servicekit.http_client.protect import Bulkhead, CircuitBreaker
from servicekit.http_client.retries import RetryPolicy
from servicekit.settings import Environment
from shop_contracts.errors import ProductsUnavailable

PRODUCTS_URL = "http://products.test"
BASE_URL = f"{PRODUCTS_URL}/api/v1"
TOKEN = "test-service-token-0123456789"
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def product_body(product_id: UUID | None = None, **overrides: Any) -> dict[str, Any]:
    """A products-service ``Product`` as JSON."""
    body: dict[str, Any] = {
        "id": str(product_id or uuid4()),
        "sku": "SKU-1",
        "name": "Widget",
        "description": "A widget",
        "price": "19.90",
        "currency": "EUR",
        "stock_available": 7,
        "created_at": NOW.isoformat(),
        "updated_at": NOW.isoformat(),
    }
    return body | overrides


def reservation_body(reservation_id: UUID | None = None, **overrides: Any) -> dict[str, Any]:
    """A products-service ``Reservation`` as JSON."""
    body: dict[str, Any] = {
        "id": str(reservation_id or uuid4()),
        "key": "order-key-1",
        "status": "held",
        "expires_at": (NOW + timedelta(minutes=15)).isoformat(),
        "created_at": NOW.isoformat(),
        "lines": [
            {
                "product_id": str(uuid4()),
                "quantity": 2,
                "product_name": "Widget",
                "unit_price": "19.90",
                "currency": "EUR",
            }
        ],
    }
    return body | overrides


def problem(status: int, code: str, **extensions: Any) -> httpx.Response:
    """A problem+json answer as products sends it."""
    body = {"type": "about:blank", "title": code, "status": status, "code": code} | extensions
    return httpx.Response(status, json=body, headers={"content-type": "application/problem+json"})


def metric(name: str, **labels: str) -> float:
    """Current value of a sample in the process-global registry (0 when absent)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


class FakeClock:
    """A monotonic clock that only moves when told to."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class SleepRecorder:
    """Stands in for ``asyncio.sleep`` in retry policies; remembers the waits."""

    waits: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def make_settings(**overrides: Any) -> Settings:
    """Orders settings pointing at the fake products service."""
    values: dict[str, Any] = {
        "environment": Environment.TESTING,
        "products_url": PRODUCTS_URL,
        "service_token": SecretStr(TOKEN),
    }
    return Settings(**(values | overrides))


@dataclass
class ClientFactory:
    """Builds ``HttpProductClient``s over an ``httpx.MockTransport`` bound to ``router``."""

    router: respx.Router
    clock: FakeClock
    sleeps: SleepRecorder
    opened: list[httpx.AsyncClient] = field(default_factory=list)

    def __call__(
        self,
        *,
        max_attempts: int = 3,
        initial_backoff: float = 0.05,
        max_backoff: float = 0.5,
        deadline_seconds: float = 5.0,
        failure_threshold: int = 5,
        reset_seconds: float = 5.0,
        breaker_name: str = "test",
        bulkhead: Bulkhead | None = None,
    ) -> HttpProductClient:
        http = httpx.AsyncClient(
            base_url=BASE_URL, transport=httpx.MockTransport(self.router.async_handler)
        )
        self.opened.append(http)
        guard = Guard(
            PROTECTION.remote,
            breaker=CircuitBreaker(
                failure_threshold,
                reset_seconds,
                name=breaker_name,
                metrics=PROTECTION,
                unavailable=ProductsUnavailable,
                clock=self.clock,
            ),
            bulkhead=bulkhead
            or Bulkhead(1_000, 1.0, name="products", metrics=PROTECTION, refused=BulkheadFull),
            unavailable=ProductsUnavailable,
            retries=RETRIES,
        )
        return HttpProductClient(
            http,
            service_token=SecretStr(TOKEN),
            guard=guard,
            retry=RetryPolicy(
                max_attempts=max_attempts,
                initial_backoff=initial_backoff,
                max_backoff=max_backoff,
                sleep=self.sleeps,
            ),
            deadline_seconds=deadline_seconds,
        )


@pytest.fixture(name="product_body")
def product_body_fixture() -> Callable[..., dict[str, Any]]:
    return product_body


@pytest.fixture(name="reservation_body")
def reservation_body_fixture() -> Callable[..., dict[str, Any]]:
    return reservation_body


@pytest.fixture(name="problem")
def problem_fixture() -> Callable[..., httpx.Response]:
    return problem


@pytest.fixture(name="metric")
def metric_fixture() -> Callable[..., float]:
    return metric


@pytest.fixture(name="make_settings")
def make_settings_fixture() -> Callable[..., Settings]:
    return make_settings


@pytest.fixture
def advance_clock(clock: FakeClock) -> Callable[[float], None]:
    return clock.advance


@pytest.fixture
def router() -> respx.Router:
    return respx.Router(base_url=BASE_URL, assert_all_called=False)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
async def make_client(
    router: respx.Router, clock: FakeClock, sleeps: SleepRecorder
) -> AsyncIterator[ClientFactory]:
    factory = ClientFactory(router, clock, sleeps)
    yield factory
    for http in factory.opened:
        await http.aclose()
