"""Orders' own back-pressure on the way to products, as an error its observers can tell apart (ADR 0009)."""

from shop_contracts.errors import ProductsUnavailable


class BulkheadFull(ProductsUnavailable):
    """No slot freed up in time: orders' own back-pressure, not a products failure.

    API users see exactly a ``ProductsUnavailable`` (same code, status, title and
    Retry-After); the canary fallback tells it apart and does not count it.
    """
