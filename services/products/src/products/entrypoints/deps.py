"""FastAPI dependencies of the products routers, as ``Annotated`` aliases."""

from typing import Annotated

from fastapi import Depends, Request

from products.application.service import ProductsService
from servicekit.deps import AdminPrincipal, ServiceCaller

__all__ = ["AdminPrincipal", "ProductsServiceDep", "ServiceCaller"]


def products_service(request: Request) -> ProductsService:
    """The use cases the lifespan built for this app."""
    service: ProductsService = request.app.state.runtime.service
    return service


ProductsServiceDep = Annotated[ProductsService, Depends(products_service)]
