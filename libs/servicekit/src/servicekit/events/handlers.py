"""What a consumer is: a name, the events it reads, and an idempotent handler.

The same ``Subscription`` runs in-process (``APP_EVENT_BUS=local``, called by
the outbox relay) or behind a RabbitMQ queue (``rabbitmq``), so switching the
bus changes the transport, never the reaction.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from shop_contracts.events import IntegrationEvent, routing_key

IntegrationHandler = Callable[[IntegrationEvent], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Subscription:
    """``handler`` applies each of ``events`` once per event id (it keeps its own inbox)."""

    name: str
    events: tuple[type[IntegrationEvent], ...]
    handler: IntegrationHandler

    @property
    def routing_keys(self) -> tuple[str, ...]:
        """The topic bindings of this subscription's queue."""
        return tuple(routing_key(cls.TYPE, cls.VERSION) for cls in self.events)

    def wants(self, event: IntegrationEvent) -> bool:
        """Whether this subscription reads ``event``."""
        return isinstance(event, self.events)
