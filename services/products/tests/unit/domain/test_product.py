"""Catalogue changes to a product."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import uuid4

from products.domain.product import Product, ProductChanges
from shop_contracts.money import Money

CREATED = datetime(2026, 1, 1, tzinfo=UTC)


def _product() -> Product:
    return Product(
        uuid4(), "SKU-1", "Mug", "Blue", Money(Decimal("5.00"), "EUR"), 3, CREATED, CREATED
    )


def test_changes_apply_only_given_fields_and_touch_updated_at() -> None:
    product = _product()
    later = CREATED + timedelta(hours=1)

    changed = product.changed(ProductChanges(price=Decimal("6.00"), description=""), later)

    assert (changed.name, changed.description) == ("Mug", "")
    assert changed.price == Money(Decimal("6.00"), "EUR")  # the currency kept
    assert (changed.stock_available, changed.sku) == (3, "SKU-1")
    assert (changed.created_at, changed.updated_at) == (CREATED, later)


def test_a_new_currency_alone_keeps_the_amount() -> None:
    changed = _product().changed(ProductChanges(currency="USD"), CREATED)

    assert changed.price == Money(Decimal("5.00"), "USD")
