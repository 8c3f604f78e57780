"""How a retried products call is told: products' counter and log line for servicekit's retry loop."""

import logging

from orders.adapters.product_clients.metrics import PRODUCT_CLIENT_RETRIES
from servicekit.http_client.retries import RetryLog

RETRIES = RetryLog(PRODUCT_CLIENT_RETRIES, logging.getLogger(__name__), "retrying products call")
"""``orders_product_client_retries_total{method, reason}`` and ``retrying products call``."""
