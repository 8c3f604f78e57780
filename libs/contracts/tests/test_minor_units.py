"""Prices stored as cents."""

from decimal import Decimal

import pytest

from shop_contracts.money import from_minor, to_minor


@pytest.mark.parametrize(
    ("amount", "cents"), [("0", 0), ("0.01", 1), ("19.90", 1990), ("1234567890.99", 123456789099)]
)
def test_amounts_round_trip_through_cents(amount: str, cents: int) -> None:
    assert to_minor(Decimal(amount)) == cents
    assert from_minor(cents) == Decimal(amount)
    assert str(from_minor(cents)).count(".") == 1


def test_extra_places_are_rounded_half_even() -> None:
    assert to_minor(Decimal("0.125")) == 12
    assert to_minor(Decimal("0.135")) == 14


def test_fractional_cents_of_an_average_round_half_even() -> None:
    assert from_minor(Decimal("1234.5")) == Decimal("12.34")
    assert from_minor(Decimal("1235.5")) == Decimal("12.36")
