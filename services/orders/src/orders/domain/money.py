"""Money: a Decimal amount with two places and an ISO 4217 currency."""

from dataclasses import dataclass
from decimal import Decimal

from shop_contracts.money import from_minor, quantize, to_minor


class CurrencyMismatch(ValueError):
    """Two amounts in different currencies were combined."""


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount of one currency, always rounded to cents."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", quantize(self.amount))
        if len(self.currency) != 3 or not self.currency.isalpha() or not self.currency.isupper():
            raise ValueError(f"not an ISO 4217 currency code: {self.currency!r}")

    @classmethod
    def zero(cls, currency: str) -> "Money":
        """Nothing, in a currency."""
        return cls(Decimal(0), currency)

    @classmethod
    def from_cents(cls, cents: int, currency: str) -> "Money":
        """Build from an integer number of cents (how amounts are stored)."""
        return cls(from_minor(cents), currency)

    @property
    def cents(self) -> int:
        """The amount as an integer number of cents."""
        return to_minor(self.amount)

    def __add__(self, other: "Money") -> "Money":
        if other.currency != self.currency:
            raise CurrencyMismatch(f"cannot add {other.currency} to {self.currency}")
        return Money(self.amount + other.amount, self.currency)

    def times(self, quantity: int) -> "Money":
        """This amount multiplied by a whole quantity."""
        return Money(self.amount * quantity, self.currency)
