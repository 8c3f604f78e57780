"""Orders' domain events as outbox rows: servicekit's codec over their types (ADR 0007, ADR 0022)."""

from orders.domain.events import DomainEvent, OrderCancelled, OrderPlaced, OrderStatusChanged
from servicekit.outbox.codec import EventCodec

CODEC: EventCodec[DomainEvent] = EventCodec((OrderPlaced, OrderCancelled, OrderStatusChanged))
encode = CODEC.encode
decode = CODEC.decode
