"""Bench-only orders app whose product client opens a new ``httpx.AsyncClient`` per call.

This is the pattern the design forbids (DESIGN.md, "The HTTP path must be
production-grade"): it exists only so the benchmark (``bench/e2e``) can measure what the
pooled client buys. Never import it from a service.

    uvicorn --app-dir bench --factory naive_app:create_app
"""

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from uuid import UUID

import httpx
from fastapi import FastAPI

from orders.adapters.product_clients.backpressure import BulkheadFull
from orders.adapters.product_clients.http import HttpProductClient
from orders.adapters.product_clients.http.retries import RETRIES
from orders.adapters.product_clients.metrics import PROTECTION
from orders.bootstrap import Overrides
from orders.config import Settings
from orders.main import create_app as create_orders_app
from servicekit.http_client.guard import Guard
from servicekit.http_client.protect import Bulkhead, CircuitBreaker
from servicekit.http_client.retries import RetryPolicy
from shop_contracts import paths
from shop_contracts.errors import ProductsUnavailable
from shop_contracts.products import Product, ProductLookup, StockCheck
from shop_contracts.reservations import Reservation, ReservationLineRequest


class PerCallProductClient:
    """``ProductServiceClient`` that builds (and closes) a default httpx client for every call."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._guard = Guard(
            "products",
            breaker=CircuitBreaker(
                settings.products_breaker_failure_threshold,
                settings.products_breaker_reset_seconds,
                name="products",
                metrics=PROTECTION,
                unavailable=ProductsUnavailable,
            ),
            bulkhead=Bulkhead(
                1_000, 1.0, name="products", metrics=PROTECTION, refused=BulkheadFull
            ),
            unavailable=ProductsUnavailable,
            retries=RETRIES,
        )

    @asynccontextmanager
    async def _client(self) -> AsyncIterator[HttpProductClient]:
        # The anti-pattern under measurement: a fresh client (and SSL context) per call.
        async with httpx.AsyncClient(
            base_url=self._settings.products_url.rstrip("/") + paths.API_PREFIX,
            timeout=self._settings.products_read_timeout,
        ) as http:
            yield HttpProductClient(
                http,
                service_token=self._settings.service_token,
                guard=self._guard,
                retry=RetryPolicy(
                    max_attempts=self._settings.products_max_attempts,
                    initial_backoff=self._settings.products_retry_initial_backoff,
                    max_backoff=self._settings.products_retry_max_backoff,
                ),
                deadline_seconds=self._settings.products_deadline_seconds,
            )

    async def get_product(self, product_id: UUID) -> Product:
        async with self._client() as client:
            return await client.get_product(product_id)

    async def lookup_products(self, product_ids: Sequence[UUID]) -> ProductLookup:
        async with self._client() as client:
            return await client.lookup_products(product_ids)

    async def check_stock(self, product_id: UUID, quantity: int) -> StockCheck:
        async with self._client() as client:
            return await client.check_stock(product_id, quantity)

    async def reserve(
        self, reservation_key: str, lines: Sequence[ReservationLineRequest]
    ) -> Reservation:
        async with self._client() as client:
            return await client.reserve(reservation_key, lines)

    async def confirm(self, reservation_id: UUID) -> Reservation:
        async with self._client() as client:
            return await client.confirm(reservation_id)

    async def release(self, reservation_id: UUID) -> Reservation:
        async with self._client() as client:
            return await client.release(reservation_id)

    async def release_by_key(self, reservation_key: str) -> Reservation:
        async with self._client() as client:
            return await client.release_by_key(reservation_key)

    async def get_reservation(self, reservation_id: UUID) -> Reservation:
        async with self._client() as client:
            return await client.get_reservation(reservation_id)


def create_app() -> FastAPI:
    """The real orders app (settings from the environment) over the per-call client."""
    settings = Settings()
    return create_orders_app(settings, Overrides(product_client=PerCallProductClient(settings)))
