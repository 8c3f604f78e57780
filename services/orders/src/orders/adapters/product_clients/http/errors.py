"""Map products' answers, by problem ``code``, to the exceptions the local facade raises (ADR 0012)."""

import logging
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from uuid import UUID

import httpx
from pydantic import BaseModel, ValidationError

from shop_contracts.errors import (
    ErrorCode,
    IdempotencyKeyReused,
    InsufficientStock,
    MixedCurrencies,
    OrderTotalTooLarge,
    Problem,
    ProductNotFound,
    ProductsUnavailable,
    ReservationExpired,
    ReservationNotFound,
    ReservationReleased,
)

logger = logging.getLogger(__name__)

ModelT = TypeVar("ModelT", bound=BaseModel)

_CREDENTIAL_STATUSES = frozenset({401, 403})


@dataclass(frozen=True, slots=True)
class Expectation(Generic[ModelT]):
    """What success looks like for one call, and what its errors are about."""

    method: str
    model: type[ModelT]
    ok_statuses: Collection[int] = frozenset({200})
    subject_ids: tuple[UUID, ...] = ()
    reservation_id: UUID | None = None


def decode(expected: Expectation[ModelT], response: httpx.Response) -> ModelT:
    """The expected model from a success answer; the mapped exception for anything else."""
    if response.status_code in expected.ok_statuses:
        try:
            return expected.model.model_validate_json(response.content)
        except ValidationError as exc:
            raise ProductsUnavailable(
                f"products answered {expected.method} with an invalid "
                f"{expected.model.__name__} body"
            ) from exc
    raise _error_for(expected, response)


def _error_for(expected: Expectation[Any], response: httpx.Response) -> Exception:
    status = response.status_code
    if status in _CREDENTIAL_STATUSES:
        logger.error(
            "products rejected the service credential",
            extra={"method": expected.method, "status": status},
        )
        return ProductsUnavailable(
            f"products rejected the service credential (HTTP {status}); check APP_SERVICE_TOKEN"
        )
    try:
        problem = Problem.model_validate_json(response.content)
    except ValidationError:
        return ProductsUnavailable(
            f"products answered {expected.method} with HTTP {status} and no usable problem body"
        )
    mapped = _domain_error(expected, problem)
    if mapped is not None:
        return mapped
    if problem.code is ErrorCode.VALIDATION_ERROR:
        fields = ", ".join(p.name for p in problem.invalid_params or []) or "unspecified"
        return ProductsUnavailable(
            f"products rejected {expected.method} as invalid ({fields}) although the client "
            "validated it: the two sides disagree about the contract"
        )
    return ProductsUnavailable(
        f"products answered {expected.method} with HTTP {status} {problem.code.value}"
    )


def _domain_error(expected: Expectation[Any], problem: Problem) -> Exception | None:
    code = problem.code
    if code is ErrorCode.PRODUCT_NOT_FOUND:
        ids = problem.product_ids or list(expected.subject_ids)
        return ProductNotFound(ids) if ids else None
    if code is ErrorCode.INSUFFICIENT_STOCK:
        return InsufficientStock(problem.product_ids) if problem.product_ids else None
    if code is ErrorCode.IDEMPOTENCY_KEY_REUSED:
        return IdempotencyKeyReused()
    if code is ErrorCode.MIXED_CURRENCIES:
        currencies = (problem.model_extra or {}).get("currencies")
        if not isinstance(currencies, list) or not all(isinstance(c, str) for c in currencies):
            return None
        return MixedCurrencies(currencies)
    if code is ErrorCode.ORDER_TOTAL_TOO_LARGE:
        # The figure is in products' detail only; it is the one local mode raises.
        return OrderTotalTooLarge(detail=problem.detail)
    reservation_id = expected.reservation_id
    if reservation_id is None:
        return None
    if code is ErrorCode.RESERVATION_NOT_FOUND:
        return ReservationNotFound(reservation_id)
    if code is ErrorCode.RESERVATION_EXPIRED:
        return ReservationExpired(reservation_id)
    if code is ErrorCode.RESERVATION_RELEASED:
        return ReservationReleased(reservation_id)
    return None
