"""Price a cart without holding anything: one product lookup for all lines."""

from decimal import Decimal

from orders.application.views import QuoteLineView, QuoteView
from orders.domain.errors import InvalidOrder
from orders.domain.order import OrderLine, normalise_lines
from orders.domain.product_client import ProductServiceClient
from shop_contracts.errors import ProductNotFound
from shop_contracts.reservations import MAX_LINE_QUANTITY


async def quote_cart(
    products: ProductServiceClient, lines: list[OrderLine], *, max_items: int
) -> QuoteView:
    """Current prices and stock for the cart; ``ProductNotFound`` names unknown products."""
    cart = normalise_lines(lines)
    if not cart:
        raise InvalidOrder("A quote needs at least one item")
    if len(cart) > max_items:
        raise InvalidOrder(f"An order may have at most {max_items} distinct products")
    if any(line.quantity > MAX_LINE_QUANTITY for line in cart):
        raise InvalidOrder(f"An order may hold at most {MAX_LINE_QUANTITY} units of a product")
    lookup = await products.lookup_products([line.product_id for line in cart])
    if lookup.missing:
        raise ProductNotFound(lookup.missing)
    by_id = {product.id: product for product in lookup.items}
    currencies = {by_id[line.product_id].currency for line in cart}
    if len(currencies) != 1:
        raise InvalidOrder("All items of an order must share one currency")
    items = [
        QuoteLineView(
            product_id=line.product_id,
            product_name=by_id[line.product_id].name,
            quantity=line.quantity,
            unit_price=by_id[line.product_id].price,
            line_total=by_id[line.product_id].price * line.quantity,
            in_stock=by_id[line.product_id].stock_available >= line.quantity,
        )
        for line in cart
    ]
    return QuoteView(
        items=items,
        subtotal=sum((item.line_total for item in items), Decimal(0)),
        currency=currencies.pop(),
    )
