"""API paths of the products service, shared so the HTTP client and the router agree."""

import re

API_PREFIX = "/api/v1"

PRODUCTS = "/products"
PRODUCT = "/products/{product_id}"
PRODUCT_STOCK = "/products/{product_id}/stock"
PRODUCT_STOCK_ADJUSTMENTS = "/products/{product_id}/stock-adjustments"
PRODUCTS_LOOKUP = "/products/lookup"
PRODUCTS_BULK = "/products/bulk"
RESERVATIONS = "/reservations"
RESERVATIONS_RELEASE_BY_KEY = "/reservation-releases"
RESERVATION = "/reservations/{reservation_id}"
RESERVATION_CONFIRM = "/reservations/{reservation_id}/confirm"
RESERVATION_RELEASE = "/reservations/{reservation_id}/release"

SERVICE_TOKEN_HEADER = "Authorization"
REQUEST_ID_HEADER = "X-Request-ID"
IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"


_ID_PARAMETER = re.compile(r"\{(\w+_id)\}")


def route(path: str) -> str:
    """The pattern a router declares for ``path``: every ``{..._id}`` matches only a UUID.

    So a static sibling is never taken for an id (``PATCH /products/bulk`` is a
    405, not ``PATCH /products/{id}`` with a bad id), and a path whose id is not
    a UUID names nothing: 404 ``not_found``. Clients keep formatting ``path``.
    """
    return _ID_PARAMETER.sub(r"{\1:uuid}", path)
