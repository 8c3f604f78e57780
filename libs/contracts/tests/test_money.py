"""Money: cents-exact amounts of one currency and the one line-total rule."""

from decimal import Decimal

import pytest

from shop_contracts.money import CurrencyMismatch, Money, line_total


def test_money_rounds_to_cents_and_refuses_mixed_currencies() -> None:
    assert Money(Decimal("1.005"), "EUR").amount == Decimal("1.00")
    assert Money(Decimal("0.10"), "EUR").times(3) == Money(Decimal("0.30"), "EUR")
    assert Money.from_cents(1999, "USD").amount == Decimal("19.99")
    assert Money(Decimal("19.99"), "USD").cents == 1999
    with pytest.raises(CurrencyMismatch):
        Money(Decimal(1), "EUR") + Money(Decimal(1), "USD")
    with pytest.raises(ValueError, match="ISO 4217"):
        Money(Decimal(1), "eur")


@pytest.mark.parametrize(
    ("unit_price", "quantity", "total"),
    [("2.50", 2, "5.00"), ("0.10", 3, "0.30"), ("0.125", 1, "0.12"), ("0.135", 1, "0.14")],
)
def test_a_line_total_is_price_times_quantity_rounded_half_even(
    unit_price: str, quantity: int, total: str
) -> None:
    assert line_total(Decimal(unit_price), quantity) == Decimal(total)
    assert str(line_total(Decimal(unit_price), quantity)) == total  # exactly two places


def test_times_is_the_line_total() -> None:
    price = Money(Decimal("33.33"), "EUR")

    assert price.times(3) == Money(line_total(Decimal("33.33"), 3), "EUR")
    assert price.times(3).amount == Decimal("99.99")
