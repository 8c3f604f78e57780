"""Write the integration events' AsyncAPI document to ``libs/contracts/asyncapi`` (``just openapi``).

Generated from the envelope DTOs in ``shop_contracts.events``: one channel per
``<type>.v<version>`` routing key on the ``shop.events`` topic exchange, the
message payload being the envelope's JSON Schema. Same layout rules as the
OpenAPI documents, so a regenerated file differs only where an event changed.
"""

import sys
from pathlib import Path
from typing import Any

from scripts.export_openapi import render
from shop_contracts.events import EVENTS_EXCHANGE, json_schemas

ASYNCAPI_PATH = (
    Path(__file__).resolve().parents[1] / "libs" / "contracts" / "asyncapi" / "events.json"
)


def current_document() -> dict[str, Any]:
    """The AsyncAPI 3 document of every integration event the DTOs define now."""
    names, schemas = json_schemas("#/components/schemas/{model}")
    exchange = {"name": EVENTS_EXCHANGE, "type": "topic", "durable": True, "autoDelete": False}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for key, schema_name in sorted(names.items()):
        messages[key] = {
            "name": key,
            "contentType": "application/json",
            "summary": schemas[schema_name].get("description", ""),
            "payload": {"$ref": f"#/components/schemas/{schema_name}"},
            "bindings": {"amqp": {"deliveryMode": 2}},
        }
        channels[key] = {
            "address": key,
            "messages": {key: {"$ref": f"#/components/messages/{key}"}},
            "bindings": {"amqp": {"is": "routingKey", "exchange": exchange}},
        }
        operations[f"publish.{key}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{key}"},
            "messages": [{"$ref": f"#/channels/{key}/messages/{key}"}],
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Shop integration events",
            "version": "1.0.0",
            "description": (
                "Events orders publishes through its transactional outbox. Persistent "
                "messages on a topic exchange, routing key <type>.v<version>; consumers "
                "deduplicate on the envelope id and ignore fields they do not know."
            ),
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def main(argv: list[str]) -> int:
    """Write the document; prints whether it changed."""
    if argv:
        print("usage: python -m scripts.export_asyncapi", file=sys.stderr)
        return 2
    ASYNCAPI_PATH.parent.mkdir(parents=True, exist_ok=True)
    text = render(current_document())
    before = ASYNCAPI_PATH.read_text() if ASYNCAPI_PATH.exists() else None
    ASYNCAPI_PATH.write_text(text)
    state = "unchanged" if before == text else "written"
    print(f"{ASYNCAPI_PATH.relative_to(ASYNCAPI_PATH.parents[3])}: {state}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
