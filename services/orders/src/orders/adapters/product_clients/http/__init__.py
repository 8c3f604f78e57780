"""``HttpProductClient``: the products service over one pooled ``httpx.AsyncClient``.

One module per job: ``client`` (the calls), ``transport`` (building the pooled
client), ``config`` (settings), ``retries``, ``bulkhead``, ``failures`` (what
a failed attempt means) and ``errors`` (answers → domain exceptions).
"""

from orders.adapters.product_clients.http.bulkhead import Bulkhead
from orders.adapters.product_clients.http.client import HttpProductClient
from orders.adapters.product_clients.http.config import HttpClientConfig
from orders.adapters.product_clients.http.retries import RetryPolicy
from orders.adapters.product_clients.http.transport import (
    build_http_client,
    build_http_product_client,
    build_transport,
)

__all__ = [
    "Bulkhead",
    "HttpClientConfig",
    "HttpProductClient",
    "RetryPolicy",
    "build_http_client",
    "build_http_product_client",
    "build_transport",
]
