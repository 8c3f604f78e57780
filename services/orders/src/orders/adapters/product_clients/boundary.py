"""What the seam needs to know about products: the method table, the comparer, outcome labels (ADR 0025)."""

from pydantic import ValidationError

from cutover.flags import ModeUnavailable
from orders.adapters.product_clients.backpressure import BulkheadFull
from orders.domain.product_client import ProductServiceClient
from seam import FlagNames, Method, MethodTable, ModelComparer
from shop_contracts.errors import DomainError, ErrorCode, ProductsUnavailable

METHODS = MethodTable(
    ProductServiceClient,
    [
        Method("get_product", reads=True),
        Method("lookup_products", reads=True),
        Method("check_stock", reads=True),
        Method("get_reservation", reads=True),
        # Every write is safe to repeat: reserve carries its key, the others an id.
        Method("reserve", reads=False),
        Method("confirm", reads=False),
        Method("release", reads=False),
        Method("release_by_key", reads=False),
    ],
)
"""Every method of ``ProductServiceClient``: reads get the short deadline and are shadowed."""

COMPARER = ModelComparer(
    answers=(DomainError, ValidationError),
    unavailable=(ProductsUnavailable,),
    # ``detail`` is prose and may differ; these identify the error.
    error_attributes=("product_ids", "reservation_id"),
)
"""Two answers agree when their DTOs match field by field, or their errors by type and ids."""

FLAGS = FlagNames(mode="products_client", share="canary_share", rate="shadow_sample_rate")
"""Where the seam's flags are on ``FeatureFlags``."""


class ProductsClientUnavailable(ModeUnavailable):
    """The products_client flag names a mode whose clients this process did not build."""

    code = ErrorCode.PRODUCTS_CLIENT_UNAVAILABLE
    title = "Products client not available"


QUEUE_FULL = "queue_full"
FAILED_OUTCOMES = frozenset({ErrorCode.PRODUCTS_UNAVAILABLE.value, "error"})
"""Outcomes that count against the http path; domain answers are successes."""


def outcome_of(exc: BaseException | None) -> str:
    """A bounded label for how a call ended: ``ok``, a problem code, ``queue_full`` or ``error``.

    ``queue_full`` is orders' own bulkhead refusing the call: the caller sees
    ``products_unavailable``, but products was never asked.
    """
    if exc is None:
        return "ok"
    if isinstance(exc, BulkheadFull):
        return QUEUE_FULL
    if isinstance(exc, DomainError):
        return exc.code.value
    return "error"


def error_code(exc: BaseException) -> str | None:
    """The problem ``code`` of a contract error (a span attribute)."""
    return exc.code.value if isinstance(exc, DomainError) else None
