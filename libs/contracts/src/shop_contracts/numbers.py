"""Integers on the wire, validated exactly as the JSON Schema ``integer`` documents them."""

from typing import Annotated, Any

from pydantic import BeforeValidator


def _json_integer(value: Any) -> Any:
    # pydantic's lax mode would take true as 1 and "3" as 3; the documented schema
    # says integer, and JSON Schema counts 3.0 as one, so only those two are refused.
    if isinstance(value, bool | str):
        raise ValueError("must be a JSON integer")
    return value


WireInt = Annotated[int, BeforeValidator(_json_integer)]
"""An ``int`` request field: integral numbers only, never booleans or strings."""
