"""Every FastAPI dependency of the orders API, as ``Annotated`` aliases."""

from dataclasses import dataclass, replace
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Header, Request

from cutover.flags import FlagStore
from orders.adapters.product_clients.factory import ProductsSeam
from orders.application.queries import GetOrder
from orders.application.views import OrderView
from orders.config import FeatureFlags
from orders.domain.errors import OrderNotFound
from orders.facade import OrdersFacade
from servicekit.auth import Principal
from servicekit.deps import (
    AdminPrincipal,
    CurrentPrincipal,
    UserCredentials,
    verified_principal,
)
from servicekit.problems import HttpProblem
from shop_contracts.errors import ErrorCode
from shop_contracts.limits import MAX_IDEMPOTENCY_KEY_LENGTH
from shop_contracts.paths import IDEMPOTENCY_KEY_HEADER

__all__ = [
    "IDEMPOTENCY_KEY_PARAMETER",
    "AdminPrincipal",
    "Caller",
    "CallerDep",
    "CurrentPrincipal",
    "IdempotencyKey",
    "OrdersDep",
    "OwnedOrder",
]


def _bound(request: Request, principal: Principal) -> OrdersFacade:
    """Orders' use cases with this request's flags and the caller's product client."""
    state = request.app.state
    orders: OrdersFacade = state.orders
    store: FlagStore[FeatureFlags] = state.flags
    router: ProductsSeam | None = state.product_router
    flags = store.current()
    # Chosen once here, so every product call of this request (a placement's
    # reserve, confirm and release) goes through the same client.
    products = orders.products if router is None else router.choose(flags, principal.user_id)
    if orders.max_items_per_order == flags.max_items_per_order and products is orders.products:
        return orders
    return replace(orders, max_items_per_order=flags.max_items_per_order, products=products)


async def _orders(request: Request, principal: CurrentPrincipal) -> OrdersFacade:
    # The flags are read here, not through a dependency of their own: each
    # dependency level is work FastAPI does on every request.
    return _bound(request, principal)


OrdersDep = Annotated[OrdersFacade, Depends(_orders)]
"""Orders' use cases, bound to this request's flags and the caller's product client.

Every route that takes it is authenticated (the canary routes by user id)."""


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated user and orders' use cases bound for them (as ``OrdersDep``)."""

    principal: Principal
    orders: OrdersFacade


async def _caller(request: Request, creds: UserCredentials) -> Caller:
    principal = await verified_principal(request, creds)
    return Caller(principal, _bound(request, principal))


CallerDep = Annotated[Caller, Depends(_caller)]
"""``CurrentPrincipal`` and ``OrdersDep`` in one dependency, for the hot routes (quote,
place): four dependency levels fewer for FastAPI to solve per request (BENCHMARKS.md,
"In-process cost per request"). The same security requirement in the OpenAPI document."""


_KEY_PATTERN = r"^[\x21-\x7e]+$"
_KEY_DESCRIPTION = (
    f"Client-chosen key (printable ASCII, ≤{MAX_IDEMPOTENCY_KEY_LENGTH}): "
    "a retry with it never orders twice"
)

IDEMPOTENCY_KEY_PARAMETER = {
    "name": IDEMPOTENCY_KEY_HEADER,
    "in": "header",
    "required": True,
    "description": _KEY_DESCRIPTION,
    "schema": {"type": "string", "maxLength": MAX_IDEMPOTENCY_KEY_LENGTH, "pattern": _KEY_PATTERN},
}
"""The header as documented: required. The dependency declares it optional only so
that a missing key answers 400 ``idempotency_key_missing`` rather than a generic 422;
routes add this to ``openapi_extra`` so clients generated from the document send it."""


async def _idempotency_key(
    key: Annotated[
        str | None,
        Header(
            alias=IDEMPOTENCY_KEY_HEADER,
            max_length=MAX_IDEMPOTENCY_KEY_LENGTH,
            pattern=_KEY_PATTERN,
            description=_KEY_DESCRIPTION,
            include_in_schema=False,
        ),
    ] = None,
) -> str:
    if not key:
        raise HttpProblem(
            400,
            ErrorCode.IDEMPOTENCY_KEY_MISSING,
            "Idempotency-Key header required",
            "POST /orders needs an Idempotency-Key header so that retries are safe.",
        )
    return key


IdempotencyKey = Annotated[str, Depends(_idempotency_key)]


async def _owned_order(order_id: UUID, principal: CurrentPrincipal, orders: OrdersDep) -> OrderView:
    view = await orders.get_order(GetOrder(order_id))
    # Someone else's order answers exactly like a missing one: ids are not disclosed.
    if view is None or view.user_id != principal.user_id:
        raise OrderNotFound(order_id)
    return view


OwnedOrder = Annotated[OrderView, Depends(_owned_order)]
"""The path's order, read from the read side, if it belongs to the caller; else 404.

Reads only: commands check ownership themselves, on the primary."""
