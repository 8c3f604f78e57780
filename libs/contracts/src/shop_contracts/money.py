"""Money in both domains and on the wire: cents-exact amounts, one line-total rule (ADR 0026)."""

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, PlainSerializer

from shop_contracts.currencies import ISO_4217
from shop_contracts.limits import STORED_AMOUNT_DIGITS

CENT = Decimal("0.01")


def quantize(amount: Decimal) -> Decimal:
    """Round to cents (banker's rounding) so every amount has two places."""
    return amount.quantize(CENT, rounding=ROUND_HALF_EVEN)


def to_minor(amount: Decimal) -> int:
    """Cents of an amount, rounded to two places first (how both services store money)."""
    return int(quantize(amount) / CENT)


def from_minor(minor: int | Decimal) -> Decimal:
    """The amount of a number of cents (fractional for averages), with exactly two places."""
    return quantize(Decimal(minor) * CENT)


def line_total(unit_price: Decimal, quantity: int) -> Decimal:
    """A line's total: unit price times quantity, in cents (the one rule, ``Money.times``)."""
    return quantize(unit_price * quantity)


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
        """This amount multiplied by a whole quantity: the line total."""
        return Money(line_total(self.amount, quantity), self.currency)


# What the documented schema promises and the validator enforces agree exactly,
# so a client generating requests from the OpenAPI document is never surprised:
# an amount is a plain decimal string (no exponent, no "+", no blanks, at most two
# places). JSON numbers are refused: a binary float cannot carry every amount in
# cents, and one form on the wire is one form for every client to get right.
# Python callers pass Decimal (or str); that never crosses the wire.
_SIGNED = r"^-?\d{1,10}(\.\d{1,2})?$"
_UNSIGNED = r"^\d{1,10}(\.\d{1,2})?$"


def _plain_decimal_string(pattern: str) -> Callable[[Any], Any]:
    matcher = re.compile(pattern)

    def check(value: Any) -> Any:
        if isinstance(value, int | float):
            raise ValueError('must be a decimal string, e.g. "19.99", not a JSON number')
        if isinstance(value, str) and not matcher.fullmatch(value):
            raise ValueError("must be a decimal string with at most two places, e.g. 19.99")
        return value

    return check


DECIMAL_NOTE = (
    "A decimal string (`format: decimal`, OpenAPI format registry): read it into a "
    "decimal type, never a binary float"
)
"""Every money schema says how to read it: generators that know no ``decimal`` format
(openapi-python-client among them) hand it over as a plain string (ADR 0006)."""


def _documented(pattern: str) -> Callable[[dict[str, Any]], None]:
    def document(schema: dict[str, Any]) -> None:
        schema.pop("anyOf", None)
        schema.update(
            type="string",
            pattern=pattern,
            format="decimal",
            example="19.99",
            description=DECIMAL_NOTE,
        )

    return document


def _two_places(amount: Decimal) -> str:
    return f"{quantize(amount):.2f}"


MoneyAmount = Annotated[
    Decimal,
    Field(max_digits=12, decimal_places=2, json_schema_extra=_documented(_SIGNED)),
    BeforeValidator(_plain_decimal_string(_SIGNED)),
    PlainSerializer(_two_places, return_type=str, when_used="json"),
]
"""A non-normalised Decimal that always serialises to JSON as e.g. ``"19.90"``."""

PriceAmount = Annotated[
    Decimal,
    Field(ge=0, max_digits=12, decimal_places=2, json_schema_extra=_documented(_UNSIGNED)),
    BeforeValidator(_plain_decimal_string(_UNSIGNED)),
    PlainSerializer(_two_places, return_type=str, when_used="json"),
]
"""A ``MoneyAmount`` that is never negative (prices in requests)."""

CurrencyCode = Annotated[
    str, Field(pattern=r"^[A-Z]{3}$", min_length=3, max_length=3, examples=["EUR"])
]
"""A currency code as read back: three capital letters, whatever a row was stored with."""


def _iso_4217(value: str) -> str:
    if value not in ISO_4217:
        raise ValueError("must be the ISO 4217 code of a current currency, e.g. EUR")
    return value


def _iso_4217_documented(schema: dict[str, Any]) -> None:
    # The enum is the whole rule, so a client (or a fuzzer) generating from the
    # document sends only what is accepted.
    for constraint in ("pattern", "minLength", "maxLength"):
        schema.pop(constraint, None)
    schema.update(
        enum=sorted(ISO_4217),
        description="ISO 4217 code of a current currency (list one; no funds, metals or "
        "test codes)",
    )


IsoCurrencyCode = Annotated[
    str,
    Field(
        pattern=r"^[A-Z]{3}$",
        min_length=3,
        max_length=3,
        examples=["EUR"],
        json_schema_extra=_iso_4217_documented,
    ),
    AfterValidator(_iso_4217),
]
"""A currency a price is given in (requests): an ISO 4217 code of a current currency."""


def _stored_documented(schema: dict[str, Any]) -> None:
    schema.update(
        format="decimal",
        example="19.99",
        pattern=rf"^-?\d{{1,{STORED_AMOUNT_DIGITS - 2}}}\.\d{{2}}$",
        description="Any amount a 64-bit number of cents holds; orders accepted today stay "
        f"within the order total limit. {DECIMAL_NOTE}",
    )


StoredAmount = Annotated[
    Decimal,
    Field(max_digits=STORED_AMOUNT_DIGITS, decimal_places=2, json_schema_extra=_stored_documented),
    PlainSerializer(_two_places, return_type=str, when_used="json"),
]
"""An amount an orders read returns: whatever the integer-cents column holds is readable,
so a row written under an older, looser rule never makes a read fail."""


def _sum_documented(schema: dict[str, Any]) -> None:
    schema.update(
        format="decimal",
        example="19.99",
        pattern=r"^-?\d+\.\d{2}$",
        description=f"Unbounded sum. {DECIMAL_NOTE}",
    )


SumAmount = Annotated[
    Decimal,
    Field(decimal_places=2, json_schema_extra=_sum_documented),
    PlainSerializer(_two_places, return_type=str, when_used="json"),
]
"""A sum or average over many orders: exact, with no upper bound."""
