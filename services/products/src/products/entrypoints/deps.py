"""FastAPI dependencies of the products routers, as ``Annotated`` aliases."""

from typing import Annotated

from fastapi import Depends, Request

from products.facade import ProductsFacade
from servicekit.deps import AdminPrincipal, ServiceCaller

__all__ = ["AdminPrincipal", "ProductsDep", "ServiceCaller"]


async def _products(request: Request) -> ProductsFacade:
    # async: FastAPI runs a plain ``def`` dependency in the threadpool, a thread
    # hop on every request for an attribute lookup.
    products: ProductsFacade = request.app.state.products
    return products


ProductsDep = Annotated[ProductsFacade, Depends(_products)]
"""The products API the lifespan built for this app."""
