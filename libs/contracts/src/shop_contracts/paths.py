"""API paths of the products service, shared so the HTTP client and the router agree."""

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
