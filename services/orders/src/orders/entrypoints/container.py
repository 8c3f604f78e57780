"""Everything the HTTP layer needs, built once by the composition root."""

from dataclasses import dataclass

from orders.application.cancel_order import CancelOrderHandler
from orders.application.pay_order import PayOrderHandler
from orders.application.place_order import PlaceOrderHandler
from orders.application.queries import OrderQueries
from orders.application.update_status import UpdateOrderStatusHandler
from orders.config import FeatureFlags, Settings
from orders.domain.product_client import ProductServiceClient


@dataclass(frozen=True, slots=True)
class Container:
    """Command handlers, query handlers and collaborators for one app instance."""

    settings: Settings
    flags: FeatureFlags
    products: ProductServiceClient
    place_order: PlaceOrderHandler
    cancel_order: CancelOrderHandler
    pay_order: PayOrderHandler
    update_status: UpdateOrderStatusHandler
    queries: OrderQueries
