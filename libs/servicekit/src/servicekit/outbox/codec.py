"""Dataclass events to and from the JSON an outbox row stores (ADR 0007, ADR 0022)."""

import dataclasses
import json
import typing
from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Generic, TypeVar
from uuid import UUID

E = TypeVar("E")

Converter = Callable[[Any], Any]


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, UUID | Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _converter(kind: Any) -> Converter | None:
    """How a JSON value becomes a field of type ``kind`` (``None``: as it is)."""
    for candidate in typing.get_args(kind) or (kind,):
        if candidate is type(None):
            continue
        if isinstance(candidate, type) and issubclass(candidate, UUID | Decimal | Enum):
            return typing.cast(Converter, candidate)
        if candidate is datetime:
            return datetime.fromisoformat
    return None


class EventCodec(Generic[E]):
    """A service's event dataclasses as ``(event_type, payload)`` rows, and back.

    The type is the class's name; the payload is its fields as a JSON object with
    sorted keys, enums as their values, UUIDs and decimals as strings and datetimes
    in ISO format (anything else as ``json`` writes it). Decoding converts those
    back by the field's type hint, ``X | None`` included; a field missing from the
    payload takes its default, so a field added with one still reads older rows.

    Each type's field names and converters are worked out once, here: resolving a
    dataclass's type hints per row cost more than the rest of a decode.
    """

    def __init__(self, event_types: Iterable[type[E]]) -> None:
        self._fields: dict[type[E], tuple[str, tuple[str, ...]]] = {}
        self._converters: dict[str, tuple[type[E], dict[str, Converter | None]]] = {}
        for cls in event_types:
            if not dataclasses.is_dataclass(cls):
                raise TypeError(f"{cls.__name__} is not a dataclass")
            name = cls.__name__
            if name in self._converters:
                raise ValueError(f"two event types are named {name}")
            fields = tuple(f.name for f in dataclasses.fields(cls))
            hints = typing.get_type_hints(cls)
            self._fields[cls] = (name, fields)
            self._converters[name] = (cls, {field: _converter(hints[field]) for field in fields})

    @property
    def event_types(self) -> dict[str, type[E]]:
        """The registered types by the name their rows carry."""
        return {name: cls for name, (cls, _) in self._converters.items()}

    def encode(self, event: E) -> tuple[str, str]:
        """``(event_type, payload)`` for an outbox row; ``TypeError`` for an unregistered type."""
        try:
            name, fields = self._fields[type(event)]
        except KeyError:
            raise TypeError(f"{type(event).__name__} is not a registered event type") from None
        payload = {field: _plain(getattr(event, field)) for field in fields}
        return name, json.dumps(payload, sort_keys=True)

    def decode(self, event_type: str, payload: str) -> E:
        """The event an outbox row stores; ``KeyError`` for an unknown type (or field)."""
        cls, converters = self._converters[event_type]
        values = {}
        for name, value in json.loads(payload).items():
            convert = converters[name]
            values[name] = value if value is None or convert is None else convert(value)
        return cls(**values)
