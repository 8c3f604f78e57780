"""Flag values, each checked strictly against the type ``FeatureFlags`` declares, never coerced (ADR 0018)."""

import json
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import TypeAdapter, ValidationError

from orders.application.flags import FLAG_NAMES, InvalidFlag, ProductsClientUnavailable
from orders.config import FeatureFlags, ProductsClientMode

__all__ = ["apply_overrides", "effective_flags", "flag_annotation", "flag_value", "validate_change"]


def flag_annotation(name: str) -> Any:
    """The type of flag ``name`` with its bounds, as ``FeatureFlags`` declares it."""
    field = FeatureFlags.model_fields[name]
    return Annotated[field.annotation, *field.metadata] if field.metadata else field.annotation


_FLAG_TYPES = {name: TypeAdapter(flag_annotation(name)) for name in sorted(FLAG_NAMES)}
_INTEGER_FLAGS = frozenset(n for n, f in FeatureFlags.model_fields.items() if f.annotation is int)


def flag_value(name: str, value: object) -> Any:
    """``value`` as flag ``name`` holds it, checked as JSON with no coercion.

    Strict, so a value of another type is refused rather than converted
    (``true`` is not the integer 1, ``"5"`` not 5, ``0`` or ``"off"`` not
    false, ``5.5`` not an integer); JSON's (and JSON Schema's) rules otherwise:
    a number is a number whatever its spelling, so a float flag takes ``1`` as
    1.0 and an integer flag takes ``5.0`` as 5 (the documented schema says
    ``integer``, which ``5.0`` is); an enum flag takes its string value.
    Raises ``InvalidFlag`` for an unknown name or a value the flag cannot take.
    """
    if name not in FLAG_NAMES:
        raise InvalidFlag(name, f"unknown flag (known: {', '.join(sorted(FLAG_NAMES))})")
    if type(value) is float and value.is_integer() and name in _INTEGER_FLAGS:
        value = int(value)
    try:
        document = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        raise InvalidFlag(name, "not a JSON value (NaN and infinities are not JSON)") from None
    try:
        return _FLAG_TYPES[name].validate_json(document, strict=True)
    except ValidationError as error:
        raise InvalidFlag(name, _problem(error)) from None


def apply_overrides(defaults: FeatureFlags, values: Mapping[str, object]) -> FeatureFlags:
    """``defaults`` with ``values`` applied, each checked by ``flag_value``.

    Raises ``InvalidFlag`` (a ``ValueError``) for an unknown flag or a bad value.
    """
    checked = {name: flag_value(name, values[name]) for name in sorted(values)}
    return defaults.model_copy(update=checked)


def _problem(error: ValidationError) -> str:
    first = error.errors()[0]
    return str(first.get("msg", "invalid value"))


def validate_change(
    defaults: FeatureFlags,
    updates: Mapping[str, object | None],
    *,
    choosable: frozenset[ProductsClientMode] = frozenset(ProductsClientMode),
) -> dict[str, Any]:
    """``updates`` as they are stored: each value checked alone (``flag_value``), in JSON form.

    ``None`` (reset to the default) stays ``None``. Raises ``InvalidFlag`` for an
    unknown name or a bad value and ``ProductsClientUnavailable`` for a mode whose
    clients were not built; nothing is changed then.
    """
    stored: dict[str, Any] = {}
    for name in sorted(updates):
        value = updates[name]
        if value is None:
            if name not in FLAG_NAMES:
                flag_value(name, value)  # raises: unknown flag
            stored[name] = None
            continue
        flags = apply_overrides(defaults, {name: value})
        if name == "products_client" and flags.products_client not in choosable:
            raise ProductsClientUnavailable(flags.products_client, choosable)
        stored[name] = flags.model_dump(mode="json")[name]
    return stored


def effective_flags(
    defaults: FeatureFlags,
    values: Mapping[str, object],
    *,
    choosable: frozenset[ProductsClientMode] = frozenset(ProductsClientMode),
) -> tuple[FeatureFlags, dict[str, str]]:
    """``defaults`` with every valid value applied, and why each other one was left out.

    Each value is checked on its own and as strictly as a change (``flag_value``),
    so one bad stored value never hides the others; a value that no longer
    validates (a limit lowered, a flag removed, a row written by hand with a
    value of another type, a products_client whose clients this process did not
    build) leaves its flag at the default.
    """
    applied: dict[str, object] = {}
    ignored: dict[str, str] = {}
    for name in sorted(values):
        try:
            flags = apply_overrides(defaults, {name: values[name]})
        except InvalidFlag as error:
            ignored[name] = error.problem
        else:
            if name == "products_client" and flags.products_client not in choosable:
                ignored[name] = (
                    f"{flags.products_client.value} is not built in this process"
                    f" (choosable: {', '.join(sorted(choosable))})"
                )
            else:
                applied[name] = values[name]
    return apply_overrides(defaults, applied), ignored
