"""Admin catalogue writes: create, update, stock adjustment, bulk import."""

from uuid import UUID

from fastapi import APIRouter, Response, status

from products.entrypoints.deps import AdminPrincipal, ProductsDep
from servicekit.problems import problem_responses
from shop_contracts import paths
from shop_contracts.products import (
    BulkImport,
    BulkImportResult,
    Product,
    ProductCreate,
    ProductUpdate,
    StockAdjustment,
)

router = APIRouter(tags=["products: admin"])


@router.post(
    paths.PRODUCTS,
    response_model=Product,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(400, 401, 403, 409, 413, 422, 503),
)
async def create_product(
    request: ProductCreate, response: Response, products: ProductsDep, _: AdminPrincipal
) -> Product:
    """Create a product (admin)."""
    product = await products.create_product(request)
    response.headers["Location"] = paths.API_PREFIX + paths.PRODUCT.format(product_id=product.id)
    return product


@router.patch(
    paths.route(paths.PRODUCT),
    response_model=Product,
    responses=problem_responses(400, 401, 403, 404, 413, 422, 503),
)
async def update_product(
    product_id: UUID, request: ProductUpdate, products: ProductsDep, _: AdminPrincipal
) -> Product:
    """Change a product's catalogue fields (admin)."""
    return await products.update_product(product_id, request)


@router.post(
    paths.route(paths.PRODUCT_STOCK_ADJUSTMENTS),
    response_model=Product,
    responses=problem_responses(400, 401, 403, 404, 409, 413, 422, 503),
)
async def adjust_stock(
    product_id: UUID, request: StockAdjustment, products: ProductsDep, _: AdminPrincipal
) -> Product:
    """Add or remove available stock (admin); never below zero."""
    return await products.adjust_stock(product_id, request)


@router.post(
    paths.PRODUCTS_BULK,
    response_model=BulkImportResult,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(400, 401, 403, 409, 413, 422, 503),
)
async def import_products(
    request: BulkImport, products: ProductsDep, _: AdminPrincipal
) -> BulkImportResult:
    """Create many products at once, all or none (admin)."""
    return await products.import_products(request)
