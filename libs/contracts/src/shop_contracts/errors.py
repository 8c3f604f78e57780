"""Stable error codes, the problem+json body, and the exceptions product clients raise.

Both ``LocalProductClient`` and ``HttpProductClient`` raise exactly these
exceptions for the same situations; that is what makes the client switchable.
"""

from collections.abc import Iterable, Sequence
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from shop_contracts.limits import MAX_ORDER_TOTAL


class ErrorCode(StrEnum):
    """Machine-readable ``code`` of every problem response. Values never change."""

    VALIDATION_ERROR = "validation_error"
    MALFORMED_REQUEST = "malformed_request"
    BODY_TOO_LARGE = "body_too_large"
    HEADERS_TOO_LARGE = "headers_too_large"
    NOT_AUTHENTICATED = "not_authenticated"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    INTERNAL_ERROR = "internal_error"
    PRODUCT_NOT_FOUND = "product_not_found"
    SKU_ALREADY_EXISTS = "sku_already_exists"
    BULK_IMPORT_TOO_LARGE = "bulk_import_too_large"
    INSUFFICIENT_STOCK = "insufficient_stock"
    STOCK_LIMIT_EXCEEDED = "stock_limit_exceeded"
    RESERVATION_NOT_FOUND = "reservation_not_found"
    RESERVATION_EXPIRED = "reservation_expired"
    RESERVATION_RELEASED = "reservation_released"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    IDEMPOTENCY_KEY_MISSING = "idempotency_key_missing"
    PRODUCTS_UNAVAILABLE = "products_unavailable"
    ORDER_NOT_FOUND = "order_not_found"
    INVALID_STATUS_TRANSITION = "invalid_status_transition"
    ORDER_TOTAL_TOO_LARGE = "order_total_too_large"
    MIXED_CURRENCIES = "mixed_currencies"
    PAYMENT_FAILED = "payment_failed"
    SERVICE_UNAVAILABLE = "service_unavailable"
    INVALID_FLAG = "invalid_flag"
    PRODUCTS_CLIENT_UNAVAILABLE = "products_client_unavailable"
    RESERVED_ACTOR = "reserved_actor"
    DATABASE_UNAVAILABLE = "database_unavailable"
    INVALID_CURSOR = "invalid_cursor"


class _OpenSet:
    """JSON schema of ``Problem.code``: the known codes, or any other string.

    A client generated from the document must not fail on a code added after it
    was generated; it treats an unknown code like any problem with its status.
    """

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {
            "anyOf": [handler(core_schema), {"type": "string"}],
            "title": "Code",
            "description": "Stable machine-readable code: one of `ErrorCode`, or a code"
            " added later (the set is open; new codes come without a new API version).",
            "examples": [ErrorCode.INSUFFICIENT_STOCK.value],
        }


ProblemCode = Annotated[ErrorCode, _OpenSet]


class InvalidParam(BaseModel):
    """One rejected input field."""

    name: str
    reason: str


class Problem(BaseModel):
    """RFC 9457 problem details body, with our stable ``code`` extension."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    code: ProblemCode
    request_id: str | None = None
    invalid_params: list[InvalidParam] | None = None
    product_ids: list[UUID] | None = Field(
        default=None, description="Products the problem is about (insufficient_stock, ...)"
    )


class DomainError(Exception):
    """Base of errors that map to a problem response with a stable code."""

    code: ErrorCode = ErrorCode.INTERNAL_ERROR
    status: int = 500
    title: str = "Internal error"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title

    def extensions(self) -> dict[str, Any]:
        """Extra problem members for this error (JSON-ready)."""
        return {}


class ProductError(DomainError):
    """Base of the errors a product client raises."""


class ProductNotFound(ProductError):
    """One or more products do not exist."""

    code = ErrorCode.PRODUCT_NOT_FOUND
    status = 404
    title = "Product not found"

    def __init__(self, product_ids: Sequence[UUID], detail: str | None = None) -> None:
        self.product_ids = sorted(set(product_ids), key=str)
        ids = ", ".join(str(i) for i in self.product_ids)
        super().__init__(detail or f"Unknown product(s): {ids}")

    def extensions(self) -> dict[str, Any]:
        return {"product_ids": [str(i) for i in self.product_ids]}


class InsufficientStock(ProductError):
    """Not enough available stock for one or more requested lines."""

    code = ErrorCode.INSUFFICIENT_STOCK
    status = 409
    title = "Insufficient stock"

    def __init__(self, product_ids: Sequence[UUID], detail: str | None = None) -> None:
        self.product_ids = sorted(set(product_ids), key=str)
        ids = ", ".join(str(i) for i in self.product_ids)
        super().__init__(detail or f"Not enough stock for product(s): {ids}")

    def extensions(self) -> dict[str, Any]:
        return {"product_ids": [str(i) for i in self.product_ids]}


class ReservationNotFound(ProductError):
    """No reservation with that id."""

    code = ErrorCode.RESERVATION_NOT_FOUND
    status = 404
    title = "Reservation not found"

    def __init__(self, reservation_id: UUID, detail: str | None = None) -> None:
        self.reservation_id = reservation_id
        super().__init__(detail or f"Reservation {reservation_id} does not exist")


class ReservationExpired(ProductError):
    """The hold lapsed before it was confirmed; its stock is (or will be) returned."""

    code = ErrorCode.RESERVATION_EXPIRED
    status = 409
    title = "Reservation expired"

    def __init__(self, reservation_id: UUID, detail: str | None = None) -> None:
        self.reservation_id = reservation_id
        super().__init__(detail or f"Reservation {reservation_id} has expired")


class ReservationReleased(ProductError):
    """Confirming a reservation that was already released."""

    code = ErrorCode.RESERVATION_RELEASED
    status = 409
    title = "Reservation released"

    def __init__(self, reservation_id: UUID, detail: str | None = None) -> None:
        self.reservation_id = reservation_id
        super().__init__(detail or f"Reservation {reservation_id} was released")


class IdempotencyKeyReused(DomainError):
    """The same idempotency / reservation key was sent with a different request body.

    One detail wherever it is decided (orders' saved order, products' hold, the
    HTTP mapping), so a consumer reads the same words in every mode and never an
    internal key.
    """

    code = ErrorCode.IDEMPOTENCY_KEY_REUSED
    status = 422
    title = "Idempotency key reused with a different request"

    def __init__(self) -> None:
        super().__init__(
            "This key was already used with a different request; a new request needs a new key"
        )


class MixedCurrencies(ProductError):
    """Amounts in several currencies where one figure needs one: a cart, a summary.

    Products refuses a hold over several currencies before anything is kept, so
    the key stays free (ADR 0020); orders' summary refuses to add them up.
    """

    code = ErrorCode.MIXED_CURRENCIES
    status = 422
    title = "Amounts in several currencies"

    def __init__(self, currencies: Iterable[str], detail: str | None = None) -> None:
        self.currencies = sorted(set(currencies))
        super().__init__(
            detail
            or f"The items are priced in {', '.join(self.currencies)}; "
            "an order takes one currency: order each currency's items separately"
        )

    def extensions(self) -> dict[str, Any]:
        return {"currencies": self.currencies}


class OrderTotalTooLarge(ProductError):
    """A cart's total would pass the order total limit (``shop_contracts.limits``).

    Checked where the total is first known: products' reserve (before the hold is
    kept) and orders' quote.
    """

    code = ErrorCode.ORDER_TOTAL_TOO_LARGE
    status = 422
    title = "Order total too large"

    def __init__(self, total: Decimal | None = None, detail: str | None = None) -> None:
        self.total = total
        super().__init__(
            detail
            or (
                f"The order total {total:.2f} passes the limit of {MAX_ORDER_TOTAL}; "
                "order fewer units or split the order"
                if total is not None
                else None
            )
        )


class ProductsUnavailable(ProductError):
    """The products service could not be reached or answered something unusable."""

    code = ErrorCode.PRODUCTS_UNAVAILABLE
    status = 503
    title = "Products service unavailable"

    def __init__(
        self, detail: str | None = None, retry_after: int = 1, *, maybe_applied: bool = False
    ) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
        # True when the request may have reached products and taken effect there
        # (it timed out or failed after sending); False when it surely did not.
        self.maybe_applied = maybe_applied
