"""Flag values, each checked strictly against the type the service's model declares, never coerced."""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from cutover.flags.errors import InvalidFlag
from cutover.flags.service import F, ServiceFlags
from seam import Mode

__all__ = [
    "ALL_MODES",
    "apply_overrides",
    "effective_flags",
    "flag_annotation",
    "flag_value",
    "validate_change",
]

ALL_MODES = frozenset(Mode)
"""What a process that built both implementations may choose."""


def flag_annotation(model: type[BaseModel], name: str) -> Any:
    """The type of flag ``name`` with its bounds, as ``model`` declares it."""
    field = model.model_fields[name]
    return Annotated[field.annotation, *field.metadata] if field.metadata else field.annotation


@dataclass(frozen=True, slots=True)
class _Checks:
    types: dict[str, TypeAdapter[Any]]
    integers: frozenset[str]


@cache
def _checks(model: type[BaseModel]) -> _Checks:
    fields = model.model_fields
    return _Checks(
        {name: TypeAdapter(flag_annotation(model, name)) for name in sorted(fields)},
        frozenset(n for n, f in fields.items() if f.annotation is int),
    )


def flag_value(model: type[BaseModel], name: str, value: object) -> Any:
    """``value`` as flag ``name`` of ``model`` holds it, checked as JSON with no coercion.

    Strict, so a value of another type is refused rather than converted
    (``true`` is not the integer 1, ``"5"`` not 5, ``0`` or ``"off"`` not
    false, ``5.5`` not an integer); JSON's (and JSON Schema's) rules otherwise:
    a number is a number whatever its spelling, so a float flag takes ``1`` as
    1.0 and an integer flag takes ``5.0`` as 5 (the documented schema says
    ``integer``, which ``5.0`` is); an enum flag takes its string value.
    Raises ``InvalidFlag`` for an unknown name or a value the flag cannot take.
    """
    checks = _checks(model)
    if name not in checks.types:
        raise InvalidFlag(name, f"unknown flag (known: {', '.join(sorted(checks.types))})")
    if type(value) is float and value.is_integer() and name in checks.integers:
        value = int(value)
    try:
        document = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        raise InvalidFlag(name, "not a JSON value (NaN and infinities are not JSON)") from None
    try:
        return checks.types[name].validate_json(document, strict=True)
    except ValidationError as error:
        raise InvalidFlag(name, _problem(error)) from None


def apply_overrides(defaults: F, values: Mapping[str, object]) -> F:
    """``defaults`` with ``values`` applied, each checked by ``flag_value``.

    Raises ``InvalidFlag`` (a ``ValueError``) for an unknown flag or a bad value.
    """
    model = type(defaults)
    checked = {name: flag_value(model, name, values[name]) for name in sorted(values)}
    return defaults.model_copy(update=checked)


def _problem(error: ValidationError) -> str:
    first = error.errors()[0]
    return str(first.get("msg", "invalid value"))


def validate_change(
    flags: ServiceFlags[F],
    defaults: F,
    updates: Mapping[str, object | None],
    *,
    choosable: frozenset[Mode] = ALL_MODES,
) -> dict[str, Any]:
    """``updates`` as they are stored: each value checked alone (``flag_value``), in JSON form.

    ``None`` (reset to the default) stays ``None``. Raises ``InvalidFlag`` for an
    unknown name or a bad value and the service's ``ModeUnavailable`` for a mode
    whose implementations were not built; nothing is changed then.
    """
    stored: dict[str, Any] = {}
    for name in sorted(updates):
        value = updates[name]
        if value is None:
            if name not in flags.names:
                flag_value(flags.model, name, value)  # raises: unknown flag
            stored[name] = None
            continue
        changed = apply_overrides(defaults, {name: value})
        if name == flags.seam.mode and (mode := Mode(getattr(changed, name))) not in choosable:
            raise flags.unavailable(name, mode, choosable, flags.settings.mode)
        stored[name] = changed.model_dump(mode="json")[name]
    return stored


def effective_flags(
    flags: ServiceFlags[F],
    defaults: F,
    values: Mapping[str, object],
    *,
    choosable: frozenset[Mode] = ALL_MODES,
) -> tuple[F, dict[str, str]]:
    """``defaults`` with every valid value applied, and why each other one was left out.

    Each value is checked on its own and as strictly as a change (``flag_value``),
    so one bad stored value never hides the others; a value that no longer
    validates (a limit lowered, a flag removed, a row written by hand with a
    value of another type, a mode whose implementations this process did not
    build) leaves its flag at the default.
    """
    applied: dict[str, object] = {}
    ignored: dict[str, str] = {}
    for name in sorted(values):
        try:
            changed = apply_overrides(defaults, {name: values[name]})
        except InvalidFlag as error:
            ignored[name] = error.problem
            continue
        if name == flags.seam.mode and (mode := Mode(getattr(changed, name))) not in choosable:
            ignored[name] = (
                f"{mode.value} is not built in this process"
                f" (choosable: {', '.join(sorted(choosable))})"
            )
        else:
            applied[name] = values[name]
    return apply_overrides(defaults, applied), ignored
