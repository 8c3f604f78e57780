"""Domain events to and from the JSON stored in the outbox (ADR 0007, ADR 0022)."""

import dataclasses
import json
import typing
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from orders.domain.events import DomainEvent, OrderCancelled, OrderPlaced, OrderStatusChanged

EVENT_TYPES: dict[str, type[DomainEvent]] = {
    cls.__name__: cls for cls in (OrderPlaced, OrderCancelled, OrderStatusChanged)
}


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, UUID | Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def encode(event: DomainEvent) -> tuple[str, str]:
    """``(event_type, payload)`` for an outbox row."""
    name = type(event).__name__
    if EVENT_TYPES.get(name) is not type(event):
        raise TypeError(f"{name} is not a registered event type")
    payload = {f.name: _plain(getattr(event, f.name)) for f in dataclasses.fields(event)}
    return name, json.dumps(payload, sort_keys=True)


Converter = Callable[[Any], Any]


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


# Each event type's converters, built once from its type hints: resolving the hints of
# a dataclass per row (``typing.get_type_hints``) cost more than the rest of a decode.
_CONVERTERS: dict[str, tuple[type[DomainEvent], dict[str, Converter | None]]] = {
    name: (cls, {field: _converter(kind) for field, kind in typing.get_type_hints(cls).items()})
    for name, cls in EVENT_TYPES.items()
}


def decode(event_type: str, payload: str) -> DomainEvent:
    """The event an outbox row stores; ``KeyError`` for an unknown type (or field)."""
    cls, converters = _CONVERTERS[event_type]
    data = json.loads(payload)
    values = {}
    for name, value in data.items():
        convert = converters[name]
        values[name] = value if value is None or convert is None else convert(value)
    return cls(**values)
