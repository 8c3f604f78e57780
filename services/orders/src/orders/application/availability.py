"""Can the shopper buy this many? A product's current price and availability, nothing held."""

import asyncio
from uuid import UUID

from orders.application.views import AvailabilityView
from orders.domain.product_client import ProductServiceClient


async def check_availability(
    product_id: UUID, quantity: int, products: ProductServiceClient
) -> AvailabilityView:
    """Name and current price of the product, and whether ``quantity`` units are there now.

    ``ProductNotFound`` for an unknown product. The stock count itself stays private:
    shoppers learn only whether their quantity is available.
    """
    product, stock = await asyncio.gather(
        products.get_product(product_id), products.check_stock(product_id, quantity)
    )
    return AvailabilityView(
        product_id=product.id,
        product_name=product.name,
        unit_price=product.price,
        currency=product.currency,
        quantity=quantity,
        available=stock.available,
    )
