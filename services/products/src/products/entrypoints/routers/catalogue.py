"""Public catalogue reads: list, get, lookup, stock check."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from products.entrypoints.deps import ProductsDep
from servicekit.docs import PUBLIC
from servicekit.problems import problem_responses
from shop_contracts import paths
from shop_contracts.limits import MAX_LINE_QUANTITY, MAX_PAGE, MAX_SEARCH_LENGTH
from shop_contracts.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page
from shop_contracts.products import Product, ProductLookup, ProductLookupRequest, StockCheck
from shop_contracts.text import NO_NUL

router = APIRouter(tags=["products"])


@router.get(
    paths.PRODUCTS,
    response_model=Page[Product],
    responses=problem_responses(422, 503),
    openapi_extra=PUBLIC,
)
async def list_products(
    products: ProductsDep,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    q: Annotated[
        str | None,
        Query(max_length=MAX_SEARCH_LENGTH, pattern=NO_NUL, description="Name or SKU contains"),
    ] = None,
) -> Page[Product]:
    """List products, optionally filtered by name or SKU."""
    return await products.list_products(q, page, page_size)


@router.get(
    paths.route(paths.PRODUCT),
    response_model=Product,
    responses=problem_responses(404, 422, 503),
    openapi_extra=PUBLIC,
)
async def get_product(product_id: UUID, products: ProductsDep) -> Product:
    """Get one product."""
    return await products.get_product(product_id)


@router.post(
    paths.PRODUCTS_LOOKUP,
    response_model=ProductLookup,
    responses=problem_responses(400, 413, 422, 503),
    openapi_extra=PUBLIC,
)
async def lookup_products(request: ProductLookupRequest, products: ProductsDep) -> ProductLookup:
    """Fetch many products in one call; unknown ids are listed in ``missing``."""
    return await products.lookup_products(request.ids)


@router.get(
    paths.route(paths.PRODUCT_STOCK),
    response_model=StockCheck,
    responses=problem_responses(404, 422, 503),
    openapi_extra=PUBLIC,
)
async def check_stock(
    product_id: UUID,
    products: ProductsDep,
    quantity: Annotated[int, Query(ge=1, le=MAX_LINE_QUANTITY)] = 1,
) -> StockCheck:
    """Check whether a quantity is available right now (nothing is held)."""
    return await products.check_stock(product_id, quantity)
