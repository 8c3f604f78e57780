"""Domain events to and from the JSON stored in the outbox."""

import dataclasses
import json
import typing
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


def _typed(kind: Any, value: Any) -> Any:
    if value is None:
        return None
    for candidate in typing.get_args(kind) or (kind,):
        if candidate is type(None):
            continue
        if isinstance(candidate, type) and issubclass(candidate, UUID | Decimal | Enum):
            return candidate(value)
        if candidate is datetime:
            return datetime.fromisoformat(value)
    return value


def decode(event_type: str, payload: str) -> DomainEvent:
    """The event an outbox row stores; ``KeyError`` for an unknown type."""
    cls = EVENT_TYPES[event_type]
    hints = typing.get_type_hints(cls)
    data = json.loads(payload)
    return cls(**{name: _typed(hints[name], value) for name, value in data.items()})
