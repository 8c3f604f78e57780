"""Prometheus metrics of the product clients: the seam's series and the http client's own (ADR 0025)."""

from prometheus_client import Counter

from cutover.report.names import ReportNames
from orders.adapters.product_clients.boundary import FAILED_OUTCOMES
from seam import SeamMetrics
from servicekit.http_client.protect import ProtectionMetrics

SEAM = SeamMetrics("orders", "product_client")
"""Calls, routing, shadow comparisons and the canary fallback, in every mode."""

PROTECTION = ProtectionMetrics("orders", "product_client", remote="products")
"""The http client's breaker and bulkhead towards products."""

REPORT_NAMES = ReportNames.of(SEAM, FAILED_OUTCOMES)
"""What the cut-over report and dashboard read of these series (docs/cutover.md)."""

PRODUCT_CLIENT_RETRIES = Counter(
    "orders_product_client_retries_total",
    "Retried attempts of HTTP product client calls by method and reason",
    ["method", "reason"],
)
