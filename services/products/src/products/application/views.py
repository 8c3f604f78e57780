"""The domain objects a write returns → wire DTOs; reads map rows themselves (ADR 0026)."""

from products.domain.product import Product
from products.domain.reservation import Reservation
from shop_contracts import products as dto
from shop_contracts import reservations as rdto


def product_view(product: Product) -> dto.Product:
    """The public shape of a product."""
    return dto.Product(
        id=product.id,
        sku=product.sku,
        name=product.name,
        description=product.description,
        price=product.price.amount,
        currency=product.price.currency,
        stock_available=product.stock_available,
        created_at=product.created_at,
        updated_at=product.updated_at,
    )


def reservation_view(reservation: Reservation) -> rdto.Reservation:
    """The public shape of a reservation."""
    return rdto.Reservation(
        id=reservation.id,
        key=reservation.key,
        status=reservation.status,
        expires_at=reservation.expires_at,
        created_at=reservation.created_at,
        lines=[
            rdto.ReservationLine(
                product_id=line.product_id,
                quantity=line.quantity,
                product_name=line.product_name,
                unit_price=line.unit_price.amount,
                currency=line.unit_price.currency,
            )
            for line in reservation.lines
        ],
    )
