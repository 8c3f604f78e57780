"""Money on the wire: a Decimal serialised as a string with exactly two places."""

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated

from pydantic import Field, PlainSerializer

CENT = Decimal("0.01")


def quantize(amount: Decimal) -> Decimal:
    """Round to cents (banker's rounding) so every amount has two places."""
    return amount.quantize(CENT, rounding=ROUND_HALF_EVEN)


MoneyAmount = Annotated[
    Decimal,
    Field(
        max_digits=12, decimal_places=2, json_schema_extra={"format": "decimal", "example": "19.99"}
    ),
    PlainSerializer(lambda d: f"{quantize(d):.2f}", return_type=str, when_used="json"),
]
"""A non-normalised Decimal that always serialises to JSON as e.g. ``"19.90"``."""

CurrencyCode = Annotated[
    str, Field(pattern=r"^[A-Z]{3}$", min_length=3, max_length=3, examples=["EUR"])
]
"""ISO 4217 alphabetic currency code."""
