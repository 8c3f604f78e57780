"""Changing an order: cancel, pay, and fulfilment steps."""

from fastapi import APIRouter

from orders.application.commands import CancelOrder, PayOrder, UpdateOrderStatus
from orders.application.views import OrderView, order_view
from orders.entrypoints.deps import AnyOrder, ContainerDep, OwnedOrder
from orders.entrypoints.schemas import CancelOrderIn, StatusUpdateIn
from servicekit.problems import problem_responses

router = APIRouter(prefix="/api/v1/orders", tags=["orders"])


@router.post(
    "/{order_id}/cancel",
    response_model=OrderView,
    # 402: refunding a paid order can fail at the payment provider.
    responses=problem_responses(400, 401, 402, 404, 409, 413, 422, 503),
)
async def cancel_order(
    order: OwnedOrder, body: CancelOrderIn, container: ContainerDep
) -> OrderView:
    """Cancel an order: its stock goes back and a payment is refunded."""
    return order_view(await container.cancel_order(CancelOrder(order.id, body.reason)))


@router.post(
    "/{order_id}/pay",
    response_model=OrderView,
    responses=problem_responses(401, 402, 404, 409, 422, 503),
)
async def pay_order(order: OwnedOrder, container: ContainerDep) -> OrderView:
    """Charge the caller for a confirmed order."""
    return order_view(await container.pay_order(PayOrder(order.id)))


@router.patch(
    "/{order_id}/status",
    response_model=OrderView,
    responses=problem_responses(400, 401, 403, 404, 409, 413, 422),
)
async def update_status(
    order: AnyOrder, body: StatusUpdateIn, container: ContainerDep
) -> OrderView:
    """Move an order to shipped or delivered (admin only)."""
    return order_view(await container.update_status(UpdateOrderStatus(order.id, body.status)))
