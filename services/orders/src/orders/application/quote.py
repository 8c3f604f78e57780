"""Price a cart without holding anything: one product lookup for all lines."""

from collections.abc import Sequence
from decimal import Decimal

from orders.application.views import QuoteLineView, QuoteView
from orders.domain.errors import MixedCurrencies
from orders.domain.order import check_order_total, checked_cart
from orders.domain.product_client import ProductServiceClient
from shop_contracts.errors import ProductNotFound
from shop_contracts.money import line_total
from shop_contracts.reservations import Line


async def quote_cart(
    products: ProductServiceClient, lines: Sequence[Line], *, max_items: int
) -> QuoteView:
    """Current prices and stock for the cart; ``ProductNotFound`` names unknown products."""
    cart = checked_cart(lines, max_items)
    lookup = await products.lookup_products([line.product_id for line in cart])
    if lookup.missing:
        raise ProductNotFound(lookup.missing)
    by_id = {product.id: product for product in lookup.items}
    currencies = {by_id[line.product_id].currency for line in cart}
    if len(currencies) != 1:
        raise MixedCurrencies(currencies)
    line_totals = [line_total(by_id[line.product_id].price, line.quantity) for line in cart]
    subtotal = sum(line_totals, Decimal(0))
    check_order_total(subtotal)  # before any figure is put in a (bounded) view
    items = [
        QuoteLineView(
            product_id=line.product_id,
            product_name=by_id[line.product_id].name,
            quantity=line.quantity,
            unit_price=by_id[line.product_id].price,
            line_total=line_total,
            in_stock=by_id[line.product_id].stock_available >= line.quantity,
        )
        for line, line_total in zip(cart, line_totals, strict=True)
    ]
    return QuoteView(items=items, subtotal=subtotal, currency=currencies.pop())
