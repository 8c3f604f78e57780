"""Decimal amounts ↔ integer minor units (cents) as stored."""

from decimal import Decimal

from shop_contracts.money import CENT, quantize


def to_minor(amount: Decimal) -> int:
    """Cents of an amount, rounded to two places first."""
    return int(quantize(amount) / CENT)


def from_minor(minor: int) -> Decimal:
    """The amount of a number of cents, with exactly two places."""
    return quantize(Decimal(minor) * CENT)
