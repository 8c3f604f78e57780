"""ImportProducts: create many products, all or none (ADR 0026)."""

from products.application.commands import ImportProducts
from products.application.create_product import new_product
from products.application.unit_of_work import UnitOfWorkFactory
from products.domain.errors import BulkImportTooLarge, SkuAlreadyExists
from products.domain.product import Product
from servicekit.clock import Clock


async def import_products(
    command: ImportProducts, uow: UnitOfWorkFactory, clock: Clock, max_size: int
) -> list[Product]:
    """Create every product or none (one transaction), in request order."""
    if len(command.products) > max_size:
        raise BulkImportTooLarge(len(command.products), max_size)
    seen: set[str] = set()
    for item in command.products:
        if item.sku in seen:
            raise SkuAlreadyExists(item.sku)
        seen.add(item.sku)
    created = [new_product(item, clock) for item in command.products]
    async with uow() as work:
        for product in created:
            if not await work.products.add(product):
                raise SkuAlreadyExists(product.sku)
        await work.commit()
    return created
