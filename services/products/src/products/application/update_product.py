"""UpdateProduct: change a product's catalogue fields (ADR 0026)."""

from products.application.commands import UpdateProduct
from products.application.unit_of_work import UnitOfWorkFactory
from products.domain.errors import ProductNotFound
from products.domain.product import Product
from servicekit.clock import Clock


async def update_product(command: UpdateProduct, uow: UnitOfWorkFactory, clock: Clock) -> Product:
    """Apply catalogue changes; ``ProductNotFound`` if there is no such product."""
    async with uow() as work:
        product = await work.products.get(command.product_id)
        if product is None:
            raise ProductNotFound([command.product_id])
        updated = product.changed(command.changes, clock())
        await work.products.update(updated)
        await work.commit()
    return updated
