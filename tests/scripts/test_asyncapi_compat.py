"""The AsyncAPI gate: an optional field added passes; a field removed or retyped fails."""

import copy
from typing import Any

import pytest

from scripts.asyncapi_compat import breaking_changes
from scripts.export_asyncapi import current_document


@pytest.fixture
def document() -> dict[str, Any]:
    return current_document()


def _payload(document: dict[str, Any], name: str) -> dict[str, Any]:
    schema: dict[str, Any] = document["components"]["schemas"][name]
    return schema


def test_the_same_document_has_no_breaking_change(document: dict[str, Any]) -> None:
    assert breaking_changes(document, copy.deepcopy(document)) == []


def test_adding_an_optional_field_passes(document: dict[str, Any]) -> None:
    new = copy.deepcopy(document)
    _payload(new, "OrderCancelledV1")["properties"]["note"] = {"type": ["string", "null"]}
    assert breaking_changes(document, new) == []


def test_adding_a_message_passes(document: dict[str, Any]) -> None:
    new = copy.deepcopy(document)
    messages = new["components"]["messages"]
    messages["OrderShipped.v1"] = copy.deepcopy(messages["OrderPlaced.v1"])
    assert breaking_changes(document, new) == []


def test_removing_a_field_fails(document: dict[str, Any]) -> None:
    new = copy.deepcopy(document)
    del _payload(new, "OrderCancelledV1")["properties"]["reason"]
    assert breaking_changes(document, new) == [
        "message OrderCancelled.v1.payload.reason: response field removed"
    ]


def test_retyping_a_field_fails(document: dict[str, Any]) -> None:
    new = copy.deepcopy(document)
    _payload(new, "OrderPlacedV1")["properties"]["item_count"] = {"type": "string"}
    assert breaking_changes(document, new) == [
        "message OrderPlaced.v1.payload.item_count: type changed from ['integer'] to ['string']"
    ]


def test_a_field_no_longer_always_present_fails(document: dict[str, Any]) -> None:
    new = copy.deepcopy(document)
    _payload(new, "OrderPlaced")["required"].remove("request_id")
    assert breaking_changes(document, new) == [
        "message OrderPlaced.v1.request_id: response field no longer always present"
    ]


def test_removing_a_message_fails(document: dict[str, Any]) -> None:
    new = copy.deepcopy(document)
    del new["components"]["messages"]["OrderStatusChanged.v1"]
    assert breaking_changes(document, new) == ["message OrderStatusChanged.v1: removed"]
