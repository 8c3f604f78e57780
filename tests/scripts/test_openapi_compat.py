"""The OpenAPI compatibility checker flags what breaks consumers and nothing else."""

import copy
from typing import Any

import pytest

from scripts.openapi_compat import breaking_changes


def _document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "paths": {
            "/products/{product_id}": {
                "get": {
                    "parameters": [
                        {"in": "path", "name": "product_id", "required": True,
                         "schema": {"type": "string", "format": "uuid"}},
                        {"in": "query", "name": "verbose", "required": False,
                         "schema": {"type": "boolean"}},
                    ],
                    "responses": {
                        "200": {"content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/Product"}}}},
                        "404": {"description": "missing"},
                    },
                }
            },
            "/reservations": {
                "post": {
                    "requestBody": {"required": True, "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/ReservationRequest"}}}},
                    "responses": {"201": {"content": {"application/json": {
                        "schema": {"type": "object", "properties": {
                            "status": {"type": "string", "enum": ["held", "confirmed"]}},
                            "required": ["status"]}}}}},
                }
            },
        },
        "components": {
            "schemas": {
                "Product": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string"},
                        "price": {"type": "string"},
                        "stock_available": {"type": "integer"},
                        "description": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                    },
                    "required": ["id", "price", "stock_available"],
                },
                "ReservationRequest": {
                    "type": "object",
                    "properties": {
                        "reservation_key": {"type": "string"},
                        "lines": {"type": "array", "items": {
                            "type": "object",
                            "properties": {"quantity": {"type": "integer"}},
                            "required": ["quantity"]}},
                    },
                    "required": ["reservation_key", "lines"],
                },
            }
        },
    }  # fmt: skip


def test_identical_documents_are_compatible() -> None:
    assert breaking_changes(_document(), _document()) == []


def test_additive_changes_are_compatible() -> None:
    new = _document()
    new["components"]["schemas"]["Product"]["properties"]["tags"] = {"type": "array"}
    new["paths"]["/health"] = {"get": {"responses": {"200": {}}}}
    new["components"]["schemas"]["ReservationRequest"]["properties"]["note"] = {"type": "string"}
    assert breaking_changes(_document(), new) == []


def test_removed_response_field_is_breaking() -> None:
    new = _document()
    del new["components"]["schemas"]["Product"]["properties"]["price"]
    assert any("price: response field removed" in p for p in breaking_changes(_document(), new))


def test_renamed_response_field_is_breaking() -> None:
    new = _document()
    props = new["components"]["schemas"]["Product"]["properties"]
    props["available"] = props.pop("stock_available")
    assert breaking_changes(_document(), new)


def test_changed_field_type_is_breaking() -> None:
    new = _document()
    new["components"]["schemas"]["Product"]["properties"]["price"] = {"type": "number"}
    assert any("type changed" in p for p in breaking_changes(_document(), new))


def test_nullable_wrapper_change_in_nested_item_is_detected() -> None:
    new = _document()
    lines = new["components"]["schemas"]["ReservationRequest"]["properties"]["lines"]
    lines["items"]["properties"]["quantity"] = {"type": "string"}
    assert any("lines[].quantity" in p for p in breaking_changes(_document(), new))


def test_new_required_request_field_is_breaking() -> None:
    new = _document()
    schema = new["components"]["schemas"]["ReservationRequest"]
    schema["properties"]["customer"] = {"type": "string"}
    schema["required"].append("customer")
    assert any("new required request field" in p for p in breaking_changes(_document(), new))


def test_removed_operation_is_breaking() -> None:
    new = _document()
    del new["paths"]["/reservations"]
    assert breaking_changes(_document(), new) == ["POST /reservations: operation removed"]


def test_changed_operation_id_is_breaking() -> None:
    old, new = _document(), _document()
    old["paths"]["/reservations"]["post"]["operationId"] = "reserve_api_v1_reservations_post"
    new["paths"]["/reservations"]["post"]["operationId"] = "reserve"

    assert breaking_changes(old, new) == [
        "POST /reservations: operationId changed from 'reserve_api_v1_reservations_post'"
        " to 'reserve'"
    ]
    assert breaking_changes(new, copy.deepcopy(new)) == []


def test_removed_success_status_is_breaking() -> None:
    new = _document()
    responses = new["paths"]["/reservations"]["post"]["responses"]
    responses["200"] = responses.pop("201")
    assert "POST /reservations: response 201 removed" in breaking_changes(_document(), new)


def test_new_required_parameter_is_breaking() -> None:
    new = _document()
    new["paths"]["/products/{product_id}"]["get"]["parameters"][1]["required"] = True
    assert any(
        "required query parameter 'verbose'" in p for p in breaking_changes(_document(), new)
    )


@pytest.mark.parametrize(
    ("direction_path", "enum", "breaks"),
    [
        pytest.param("response", ["held", "confirmed", "expired"], True, id="response-gains-value"),
        pytest.param("response", ["held"], False, id="response-loses-value"),
    ],
)
def test_response_enum_changes(direction_path: str, enum: list[str], breaks: bool) -> None:
    new = copy.deepcopy(_document())
    schema = new["paths"]["/reservations"]["post"]["responses"]["201"]["content"][
        "application/json"
    ]["schema"]
    schema["properties"]["status"]["enum"] = enum
    assert bool(breaking_changes(_document(), new)) is breaks, direction_path
