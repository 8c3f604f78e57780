"""AdjustStock: an operator's correction of available stock (ADR 0026)."""

import logging

from products.application.commands import AdjustStock
from products.application.unit_of_work import UnitOfWorkFactory
from products.domain.errors import InsufficientStock, ProductNotFound, StockLimitExceeded
from products.domain.product import Product
from servicekit.clock import Clock
from shop_contracts.limits import MAX_STOCK

logger = logging.getLogger(__name__)


async def adjust_stock(command: AdjustStock, uow: UnitOfWorkFactory, clock: Clock) -> Product:
    """Add or remove available units.

    ``InsufficientStock`` if available stock would go negative, ``StockLimitExceeded``
    if the units on hand would pass ``MAX_STOCK``.
    """
    async with uow() as work:
        product = await work.products.adjust_stock(command.product_id, command.delta, clock())
        if product is None:
            current = await work.products.get(command.product_id)
            if current is None:
                raise ProductNotFound([command.product_id])
            if current.stock_available + command.delta < 0:
                raise InsufficientStock([command.product_id])
            raise StockLimitExceeded(command.product_id, MAX_STOCK)
        await work.commit()
    # An audit trail of manual corrections, with the operator's reason.
    logger.info(
        "stock adjusted",
        extra={
            "product_id": str(command.product_id),
            "delta": command.delta,
            "reason": command.reason,
            "stock_available": product.stock_available,
        },
    )
    return product
