"""CreateProduct: add one product to the catalogue (ADR 0026)."""

from uuid import uuid4

from products.application.commands import CreateProduct
from products.application.unit_of_work import UnitOfWorkFactory
from products.domain.errors import SkuAlreadyExists
from products.domain.product import Product
from servicekit.clock import Clock


def new_product(command: CreateProduct, clock: Clock) -> Product:
    """The product ``command`` describes, new as of now."""
    now = clock()
    return Product(
        id=uuid4(),
        sku=command.sku,
        name=command.name,
        description=command.description,
        price=command.price,
        stock_available=command.stock,
        created_at=now,
        updated_at=now,
    )


async def create_product(command: CreateProduct, uow: UnitOfWorkFactory, clock: Clock) -> Product:
    """Add one product; ``SkuAlreadyExists`` if the SKU is taken."""
    product = new_product(command, clock)
    async with uow() as work:
        if not await work.products.add(product):
            raise SkuAlreadyExists(command.sku)
        await work.commit()
    return product
