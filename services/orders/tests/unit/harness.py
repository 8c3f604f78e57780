"""Run the orders app in-process (lifespan included) and talk to it over ASGI."""

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from orders.adapters.product_clients.factory import ProductClients
from orders.config import FeatureFlags, ProductsClientMode, Settings
from orders.domain.product_client import ProductServiceClient
from orders.main import create_app
from servicekit.auth import mint_user_token
from servicekit.settings import Environment

FLAG_DEFAULTS = FeatureFlags(
    confirmation_email=True,
    max_items_per_order=50,
    products_client=ProductsClientMode.SHADOW,
    canary_share=0,
    shadow_sample_rate=1.0,
)
"""The defaults the flag tests start from: a shadow process, nothing overridden yet."""


def make_settings(database_url: str, **overrides: Any) -> Settings:
    """Settings for an in-process app: background loops off unless a test turns them on."""
    values: dict[str, Any] = {
        "environment": Environment.TESTING,
        "database_url": database_url,
        "run_outbox_relay": False,
        "run_reconciler": False,
        "log_json": False,
    }
    values.update(overrides)
    return Settings(**values)


def canary_clients(local: ProductServiceClient, http: ProductServiceClient) -> ProductClients:
    """What a canary process builds at start-up: both implementations."""
    return ProductClients(ProductsClientMode.CANARY, local=local, http=http)


class SteppingClock:
    """A clock tests set by hand (orders get the creation time they need)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class OrdersApi:
    """A thin client for the orders API."""

    http: httpx.AsyncClient
    app: FastAPI
    settings: Settings

    def auth(self, user: str, *roles: str) -> dict[str, str]:
        """Authorization header for a user."""
        token = mint_user_token(self.settings, user, roles, email=f"{user}@example.com")
        return {"Authorization": f"Bearer {token}"}

    async def place(
        self, user: str, lines: Sequence[tuple[UUID, int]], key: str | None = None
    ) -> httpx.Response:
        """POST /orders with a fresh (or the given) Idempotency-Key."""
        body = {"items": [{"product_id": str(pid), "quantity": qty} for pid, qty in lines]}
        headers = {**self.auth(user), "Idempotency-Key": key or uuid4().hex}
        return await self.http.post("/api/v1/orders", json=body, headers=headers)


@asynccontextmanager
async def running_api(settings: Settings, **overrides: Any) -> AsyncIterator[OrdersApi]:
    """Start the app's lifespan, yield a client, shut it down."""
    app = create_app(settings, **overrides)
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://orders") as http:
            yield OrdersApi(http, app, settings)
