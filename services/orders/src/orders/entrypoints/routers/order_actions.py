"""Changing an order: cancel, pay, and fulfilment steps."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Body

from orders.application.commands import CancelOrder, PayOrder, UpdateOrderStatus
from orders.application.views import OrderView, order_view
from orders.entrypoints import paths
from orders.entrypoints.deps import AdminPrincipal, CurrentPrincipal, OrdersDep
from orders.entrypoints.schemas import CancelOrderIn, StatusUpdateIn
from servicekit.problems import problem_responses
from shop_contracts.paths import route

router = APIRouter(tags=["orders"])


@router.post(
    route(paths.ORDER_CANCEL),
    response_model=OrderView,
    # 402: refunding a paid order can fail at the payment provider.
    responses=problem_responses(400, 401, 402, 404, 409, 413, 422, 503),
)
async def cancel_order(
    order_id: UUID,
    principal: CurrentPrincipal,
    orders: OrdersDep,
    body: Annotated[CancelOrderIn, Body(default_factory=CancelOrderIn)],
) -> OrderView:
    """Cancel an order: its stock goes back and a payment is refunded.

    The body is optional: its one field, `reason`, defaults to empty.
    """
    command = CancelOrder(order_id, principal.user_id, body.reason)
    return order_view(await orders.cancel_order(command))


@router.post(
    route(paths.ORDER_PAY),
    response_model=OrderView,
    responses=problem_responses(401, 402, 404, 409, 422, 503),
)
async def pay_order(order_id: UUID, principal: CurrentPrincipal, orders: OrdersDep) -> OrderView:
    """Charge the caller for a confirmed order."""
    return order_view(await orders.pay_order(PayOrder(order_id, principal.user_id)))


@router.patch(
    route(paths.ORDER_STATUS),
    response_model=OrderView,
    responses=problem_responses(400, 401, 403, 404, 409, 413, 422, 503),
)
async def update_status(
    order_id: UUID, _admin: AdminPrincipal, body: StatusUpdateIn, orders: OrdersDep
) -> OrderView:
    """Move an order to shipped or delivered (admin only)."""
    return order_view(await orders.update_status(UpdateOrderStatus(order_id, body.status)))
