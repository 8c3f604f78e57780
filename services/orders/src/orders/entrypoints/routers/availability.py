"""Availability before checkout: can the shopper buy this many of a product right now?"""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from orders.application.views import AvailabilityView
from orders.entrypoints import paths
from orders.entrypoints.deps import CurrentPrincipal, OrdersDep
from servicekit.problems import problem_responses
from shop_contracts.limits import MAX_LINE_QUANTITY
from shop_contracts.paths import route

router = APIRouter(tags=["orders"])


@router.get(
    route(paths.AVAILABILITY),
    response_model=AvailabilityView,
    responses=problem_responses(401, 404, 422, 503),
)
async def availability(
    product_id: UUID,
    _principal: CurrentPrincipal,
    orders: OrdersDep,
    quantity: Annotated[int, Query(ge=1, le=MAX_LINE_QUANTITY)] = 1,
) -> AvailabilityView:
    """A product's name, current price and whether `quantity` units can be ordered now; nothing is held."""
    return await orders.availability(product_id, quantity)
