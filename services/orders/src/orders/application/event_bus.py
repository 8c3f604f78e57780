"""In-process registry of event handlers, consulted by the outbox relay."""

from collections.abc import Sequence

from orders.domain.events import DomainEvent
from orders.domain.ports import EventHandler


class EventBus:
    """Maps event types to named handlers (names let the relay skip ones that succeeded)."""

    def __init__(self) -> None:
        self._handlers: dict[type[DomainEvent], list[tuple[str, EventHandler]]] = {}

    def subscribe(self, event_type: type[DomainEvent], name: str, handler: EventHandler) -> None:
        """Register ``handler`` under a name unique for this event type."""
        handlers = self._handlers.setdefault(event_type, [])
        if any(existing == name for existing, _ in handlers):
            raise ValueError(f"handler {name!r} already subscribed to {event_type.__name__}")
        handlers.append((name, handler))

    def handlers_for(self, event: DomainEvent) -> Sequence[tuple[str, EventHandler]]:
        """Handlers subscribed to the event's exact type."""
        return tuple(self._handlers.get(type(event), ()))
