"""Integration event envelopes: what is published validates against the committed schema,
and what the committed schema allows is what consumers decode."""

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from jsonschema import Draft202012Validator

from shop_contracts.events import (
    IntegrationEvent,
    OrderCancelled,
    OrderCancelledV1,
    OrderPlaced,
    OrderPlacedV1,
    UndecodableEvent,
    decode_event,
)

COMMITTED = Path(__file__).resolve().parents[1] / "asyncapi" / "events.json"


def _validator(schema_name: str) -> Draft202012Validator:
    document = json.loads(COMMITTED.read_text())
    return Draft202012Validator(
        {"$ref": f"#/components/schemas/{schema_name}", "components": document["components"]}
    )


def _placed() -> OrderPlaced:
    return OrderPlaced(
        id=uuid4(),
        occurred_at=datetime.now(UTC),
        request_id="req-1",
        traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        payload=OrderPlacedV1(
            order_id=uuid4(), user_id="alice", customer_email="a@example.com",
            total=Decimal("19.9"), currency="EUR", item_count=2,
        ),
    )  # fmt: skip


def _cancelled() -> OrderCancelled:
    return OrderCancelled(
        id=uuid4(),
        occurred_at=datetime.now(UTC),
        payload=OrderCancelledV1(
            order_id=uuid4(), user_id="bob", reservation_id=uuid4(), reason="changed my mind",
            refunded=False,
        ),
    )  # fmt: skip


@pytest.mark.parametrize("event", [_placed(), _cancelled()], ids=["placed", "cancelled"])
def test_published_envelope_matches_the_committed_schema(event: IntegrationEvent) -> None:
    wire = json.loads(event.model_dump_json())
    assert list(_validator(type(event).__name__).iter_errors(wire)) == []
    assert wire["type"] == event.TYPE
    assert wire["version"] == event.VERSION


def test_envelope_round_trips_through_the_wire() -> None:
    event = _placed()
    decoded = decode_event(event.model_dump_json())
    assert decoded == event
    assert decoded.routing_key == "OrderPlaced.v1"
    assert json.loads(event.model_dump_json())["payload"]["total"] == "19.90"


def test_consumer_ignores_a_field_it_does_not_know() -> None:
    wire: dict[str, Any] = json.loads(_cancelled().model_dump_json())
    wire["payload"]["note"] = "added later as an optional field"
    wire["trace"] = {"baggage": "added later as an optional field"}
    assert list(_validator("OrderCancelled").iter_errors(wire)) == []
    decoded = decode_event(json.dumps(wire))
    assert isinstance(decoded, OrderCancelled)
    assert decoded.payload.reason == "changed my mind"


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b'{"type": "OrderPlaced"}',
        b'{"type": "OrderShipped", "version": 1}',
        b'{"type": "OrderPlaced", "version": 2}',
    ],
)
def test_an_unknown_or_invalid_message_is_undecodable(body: bytes) -> None:
    with pytest.raises(UndecodableEvent):
        decode_event(body)


def test_a_payload_that_breaks_its_schema_is_undecodable() -> None:
    wire: dict[str, Any] = json.loads(_placed().model_dump_json())
    wire["payload"]["item_count"] = "two"
    assert list(_validator("OrderPlaced").iter_errors(wire)) != []
    with pytest.raises(UndecodableEvent):
        decode_event(json.dumps(wire))


def test_a_naive_occurred_at_is_refused() -> None:
    wire: dict[str, Any] = json.loads(_placed().model_dump_json())
    wire["occurred_at"] = "2026-12-01T10:00:00"
    with pytest.raises(UndecodableEvent):
        decode_event(json.dumps(wire))


def test_a_malformed_traceparent_is_refused() -> None:
    wire: dict[str, Any] = json.loads(_placed().model_dump_json())
    wire["traceparent"] = "not-a-traceparent"
    assert list(_validator("OrderPlaced").iter_errors(wire)) != []
    with pytest.raises(UndecodableEvent):
        decode_event(json.dumps(wire))
