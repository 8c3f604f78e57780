"""Admin catalogue changes: create, update, stock adjustment, bulk import."""

import logging
from uuid import uuid4

from products.application.commands import AdjustStock, CreateProduct, ImportProducts, UpdateProduct
from products.application.unit_of_work import UnitOfWork
from products.domain.errors import (
    BulkImportTooLarge,
    InsufficientStock,
    ProductNotFound,
    SkuAlreadyExists,
    StockLimitExceeded,
)
from products.domain.product import Product
from servicekit.clock import Clock
from shop_contracts.limits import MAX_STOCK

logger = logging.getLogger(__name__)


def _new_product(command: CreateProduct, clock: Clock) -> Product:
    now = clock()
    return Product(
        id=uuid4(),
        sku=command.sku,
        name=command.name,
        description=command.description,
        price=command.price,
        currency=command.currency,
        stock_available=command.stock,
        created_at=now,
        updated_at=now,
    )


async def create_product(command: CreateProduct, uow: UnitOfWork, clock: Clock) -> Product:
    """Add one product; ``SkuAlreadyExists`` if the SKU is taken."""
    product = _new_product(command, clock)
    async with uow:
        if not await uow.products.add(product):
            raise SkuAlreadyExists(command.sku)
        await uow.commit()
    return product


async def import_products(
    command: ImportProducts, uow: UnitOfWork, clock: Clock, max_size: int
) -> list[Product]:
    """Create every product or none (one transaction), in request order."""
    if len(command.products) > max_size:
        raise BulkImportTooLarge(len(command.products), max_size)
    seen: set[str] = set()
    for item in command.products:
        if item.sku in seen:
            raise SkuAlreadyExists(item.sku)
        seen.add(item.sku)
    created = [_new_product(item, clock) for item in command.products]
    async with uow:
        for product in created:
            if not await uow.products.add(product):
                raise SkuAlreadyExists(product.sku)
        await uow.commit()
    return created


async def update_product(command: UpdateProduct, uow: UnitOfWork, clock: Clock) -> Product:
    """Apply catalogue changes; ``ProductNotFound`` if there is no such product."""
    async with uow:
        product = await uow.products.get(command.product_id)
        if product is None:
            raise ProductNotFound([command.product_id])
        updated = product.changed(command.changes, clock())
        await uow.products.update(updated)
        await uow.commit()
    return updated


async def adjust_stock(command: AdjustStock, uow: UnitOfWork, clock: Clock) -> Product:
    """Add or remove available units.

    ``InsufficientStock`` if available stock would go negative, ``StockLimitExceeded``
    if the units on hand would pass ``MAX_STOCK``.
    """
    async with uow:
        product = await uow.products.adjust_stock(command.product_id, command.delta, clock())
        if product is None:
            current = await uow.products.get(command.product_id)
            if current is None:
                raise ProductNotFound([command.product_id])
            if current.stock_available + command.delta < 0:
                raise InsufficientStock([command.product_id])
            raise StockLimitExceeded(command.product_id, MAX_STOCK)
        await uow.commit()
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
