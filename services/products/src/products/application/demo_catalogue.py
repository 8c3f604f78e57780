"""The demo catalogue ``products seed`` loads: deterministic, so reseeding is a no-op."""

from decimal import Decimal

from shop_contracts.products import ProductCreate

_KINDS = (
    ("Notebook", "A5 dotted notebook, 120 pages"),
    ("Pen", "Gel pen, 0.5 mm"),
    ("Mug", "Ceramic mug, 350 ml"),
    ("T-shirt", "Organic cotton t-shirt"),
    ("Backpack", "Water-resistant 20 l backpack"),
    ("Headphones", "Closed-back wired headphones"),
    ("Desk lamp", "LED desk lamp with dimmer"),
    ("Water bottle", "Insulated steel bottle, 750 ml"),
    ("Sticker pack", "Ten vinyl stickers"),
    ("Cable", "USB-C cable, 1 m"),
)
_COLOURS = ("Black", "White", "Blue", "Green", "Red", "Orange")

DEMO_SIZE = len(_KINDS) * len(_COLOURS)


def demo_products() -> list[ProductCreate]:
    """Sixty products with SKUs ``DEMO-001`` … ``DEMO-060``, prices and stock derived from the index."""
    items = []
    for index, ((kind, description), colour) in enumerate(
        ((k, c) for k in _KINDS for c in _COLOURS), start=1
    ):
        items.append(
            ProductCreate(
                sku=f"DEMO-{index:03d}",
                name=f"{colour} {kind}",
                description=description,
                price=Decimal(4 + (index * 7) % 60) + Decimal("0.99"),
                currency="EUR",
                stock=20 + (index * 13) % 180,
            )
        )
    return items
