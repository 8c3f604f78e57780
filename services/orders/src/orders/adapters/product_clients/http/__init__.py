"""``HttpProductClient``: the products service over one pooled ``httpx.AsyncClient`` (ADR 0002)."""

from orders.adapters.product_clients.http.client import HttpProductClient
from orders.adapters.product_clients.http.config import HttpClientConfig
from orders.adapters.product_clients.http.transport import (
    build_http_client,
    build_http_product_client,
)

__all__ = [
    "HttpClientConfig",
    "HttpProductClient",
    "build_http_client",
    "build_http_product_client",
]
