"""FastAPI dependencies of the products routers, as ``Annotated`` aliases."""

from typing import Annotated

from fastapi import Depends, Request

from products.application.service import ProductsService
from servicekit.deps import AdminPrincipal, ServiceCaller

__all__ = ["AdminPrincipal", "ProductsServiceDep", "ServiceCaller"]


async def products_service(request: Request) -> ProductsService:
    """The use cases the lifespan built for this app.

    async: FastAPI runs a plain ``def`` dependency in the threadpool, a thread
    hop on every request for an attribute lookup (BENCHMARKS.md).
    """
    service: ProductsService = request.app.state.runtime.service
    return service


ProductsServiceDep = Annotated[ProductsService, Depends(products_service)]
