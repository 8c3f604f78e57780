"""Integration events: the versioned envelopes orders publishes and other services consume.

An envelope is ``{id, type, version, occurred_at, request_id, traceparent, payload}``. ``type``
and ``version`` together pick the payload schema; a change a consumer built
against the committed schema would not survive (a field removed or retyped) is
a new ``version``, published next to the old one, never an edit of it.
Consumers ignore fields they do not know, so adding an optional field is safe.
The committed document is ``libs/contracts/asyncapi/events.json`` (``just openapi``).
"""

from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from pydantic.json_schema import models_json_schema

from shop_contracts.money import CurrencyCode, MoneyAmount

EVENTS_EXCHANGE = "shop.events"
"""The topic exchange every integration event is published to."""

RequestId = Annotated[str, Field(pattern=r"^[A-Za-z0-9._:-]{1,128}$")]
Traceparent = Annotated[str, Field(pattern=r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")]


# Unknown fields are ignored: a producer may add optional fields before its consumers
# know them. The published schema lists every field the producer always writes.
_WIRE = ConfigDict(extra="ignore", frozen=True, json_schema_serialization_defaults_required=True)


class _Payload(BaseModel):
    model_config = _WIRE


class OrderPlacedV1(_Payload):
    """An order was accepted with its stock held."""

    order_id: UUID
    user_id: str
    customer_email: str | None = None
    total: MoneyAmount
    currency: CurrencyCode
    item_count: int = Field(ge=1)


class OrderCancelledV1(_Payload):
    """An order was cancelled: its reservation is to be released, any payment was refunded."""

    order_id: UUID
    user_id: str
    reservation_id: UUID | None = Field(
        default=None, description="The stock hold to release (absent on events recorded before it)"
    )
    reason: str
    refunded: bool


class OrderStatusChangedV1(_Payload):
    """An order moved from one status to another (``paid`` is the payment event)."""

    order_id: UUID
    user_id: str
    old_status: str
    new_status: str


class IntegrationEvent(BaseModel):
    """The envelope every integration event travels in."""

    model_config = _WIRE

    TYPE: ClassVar[str] = ""
    VERSION: ClassVar[int] = 0

    id: UUID = Field(description="Unique per event; consumers deduplicate on it")
    type: str
    version: int
    occurred_at: AwareDatetime
    request_id: RequestId | None = Field(
        default=None, description="X-Request-ID of the request that caused the event"
    )
    traceparent: Traceparent | None = Field(
        default=None,
        description="W3C traceparent of the span that published the event (tracing on)",
    )
    payload: _Payload

    @property
    def routing_key(self) -> str:
        """``<type>.v<version>``: consumers bind to a type and the versions they read."""
        return routing_key(self.type, self.version)


def routing_key(event_type: str, version: int) -> str:
    """The topic routing key of an event type and version."""
    return f"{event_type}.v{version}"


class OrderPlaced(IntegrationEvent):
    """Envelope of ``OrderPlaced`` version 1."""

    TYPE: ClassVar[str] = "OrderPlaced"
    VERSION: ClassVar[int] = 1
    type: Literal["OrderPlaced"] = "OrderPlaced"
    version: Literal[1] = 1
    payload: OrderPlacedV1


class OrderCancelled(IntegrationEvent):
    """Envelope of ``OrderCancelled`` version 1."""

    TYPE: ClassVar[str] = "OrderCancelled"
    VERSION: ClassVar[int] = 1
    type: Literal["OrderCancelled"] = "OrderCancelled"
    version: Literal[1] = 1
    payload: OrderCancelledV1


class OrderStatusChanged(IntegrationEvent):
    """Envelope of ``OrderStatusChanged`` version 1."""

    TYPE: ClassVar[str] = "OrderStatusChanged"
    VERSION: ClassVar[int] = 1
    type: Literal["OrderStatusChanged"] = "OrderStatusChanged"
    version: Literal[1] = 1
    payload: OrderStatusChangedV1


EVENT_CLASSES: tuple[type[IntegrationEvent], ...] = (
    OrderPlaced,
    OrderCancelled,
    OrderStatusChanged,
)
_BY_KEY = {(cls.TYPE, cls.VERSION): cls for cls in EVENT_CLASSES}


class UndecodableEvent(ValueError):
    """A message that is not a known, valid integration event (retrying cannot help)."""


def decode_event(body: bytes | str) -> IntegrationEvent:
    """The envelope in ``body``, validated against its type's schema; ``UndecodableEvent``."""
    try:
        head = _Head.model_validate_json(body)
        cls = _BY_KEY.get((head.type, head.version))
        if cls is None:
            raise UndecodableEvent(f"unknown event {head.type} v{head.version}")
        return cls.model_validate_json(body)
    except ValidationError as exc:
        raise UndecodableEvent(str(exc)) from exc


class _Head(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: str
    version: int


def json_schemas(ref_template: str) -> tuple[dict[str, str], dict[str, Any]]:
    """``({"<type>.v<version>": schema name}, {schema name: JSON Schema})`` of every envelope.

    Schemas are the serialised form (what is on the wire), with ``$ref`` built
    from ``ref_template`` (e.g. ``"#/components/schemas/{model}"``).
    """
    refs, document = models_json_schema(
        [(cls, "serialization") for cls in EVENT_CLASSES], ref_template=ref_template
    )
    names = {
        routing_key(cls.TYPE, cls.VERSION): refs[(cls, "serialization")]["$ref"].rsplit("/", 1)[-1]
        for cls in EVENT_CLASSES
    }
    return names, document.get("$defs", {})
