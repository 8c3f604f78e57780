"""``HttpProductClient``: the products service over one pooled ``httpx.AsyncClient`` (ADR 0002)."""

from orders.adapters.product_clients.http.client import HttpProductClient
from orders.adapters.product_clients.http.config import HttpClientConfig
from orders.adapters.product_clients.http.retries import RetryPolicy
from orders.adapters.product_clients.http.transport import (
    build_http_client,
    build_http_product_client,
    build_transport,
)

__all__ = [
    "HttpClientConfig",
    "HttpProductClient",
    "RetryPolicy",
    "build_http_client",
    "build_http_product_client",
    "build_transport",
]
