"""Detect breaking changes between two OpenAPI 3 documents.

A small checker rather than a dependency: the maintained diff tools are not
Python packages (see docs/adr/0006-openapi-gate.md). It answers one question
for a consumer that was built against ``old``: will it still work against
``new``? Breaking, in that sense:

- an operation (path + method) or a documented success status disappeared;
- a request gained a required field or a required parameter;
- a field's or parameter's type changed;
- a request field the old document accepted was removed;
- a response field disappeared or stopped being required;
- an enum lost a value in a request, or gained one in a response;
- an operation's ``operationId`` changed: generated clients name their modules
  and functions after it, so code written against them stops compiling.
"""

import json
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

Schema = Mapping[str, Any]
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
_MAX_DEPTH = 12


class _Resolver:
    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document

    def resolve(self, schema: Schema) -> Schema:
        seen: set[str] = set()
        while "$ref" in schema:
            ref = str(schema["$ref"])
            if ref in seen or not ref.startswith("#/"):
                return {}
            seen.add(ref)
            node: Any = self.document
            for part in ref[2:].split("/"):
                node = node.get(part, {}) if isinstance(node, Mapping) else {}
            schema = node
        return schema


def _types(schema: Schema, resolver: _Resolver) -> frozenset[str]:
    schema = resolver.resolve(schema)
    variants = schema.get("anyOf") or schema.get("oneOf")
    if variants:
        return frozenset().union(*(_types(v, resolver) for v in variants))
    if "type" in schema:
        kind = schema["type"]
        return frozenset(kind if isinstance(kind, list) else [kind])
    if "properties" in schema:
        return frozenset({"object"})
    return frozenset()


def _non_null(schema: Schema, resolver: _Resolver) -> Schema:
    """Unwrap ``anyOf: [X, null]`` so nested comparison sees X."""
    schema = resolver.resolve(schema)
    variants = [v for v in schema.get("anyOf", []) if resolver.resolve(v).get("type") != "null"]
    return resolver.resolve(variants[0]) if len(variants) == 1 else schema


def _compare(
    old: Schema,
    new: Schema,
    where: str,
    direction: str,
    old_r: _Resolver,
    new_r: _Resolver,
    depth: int = 0,
) -> Iterator[str]:
    if depth > _MAX_DEPTH:
        return
    old_types, new_types = _types(old, old_r), _types(new, new_r)
    if old_types and new_types and old_types != new_types:
        yield f"{where}: type changed from {sorted(old_types)} to {sorted(new_types)}"
        return
    old_s, new_s = _non_null(old, old_r), _non_null(new, new_r)
    old_enum, new_enum = set(map(str, old_s.get("enum", []))), set(map(str, new_s.get("enum", [])))
    if old_enum and new_enum:
        if direction == "request" and old_enum - new_enum:
            yield f"{where}: enum no longer accepts {sorted(old_enum - new_enum)}"
        if direction == "response" and new_enum - old_enum:
            yield f"{where}: enum may now return {sorted(new_enum - old_enum)}"
    old_props: Mapping[str, Schema] = old_s.get("properties", {})
    new_props: Mapping[str, Schema] = new_s.get("properties", {})
    old_req, new_req = set(old_s.get("required", [])), set(new_s.get("required", []))
    for name, old_prop in old_props.items():
        if name not in new_props:
            yield f"{where}.{name}: {direction} field removed"
            continue
        if direction == "response" and name in old_req and name not in new_req:
            yield f"{where}.{name}: response field no longer always present"
        yield from _compare(
            old_prop, new_props[name], f"{where}.{name}", direction, old_r, new_r, depth + 1
        )
    if direction == "request":
        for name in sorted(new_req - old_req):
            yield f"{where}.{name}: new required request field"
    if "items" in old_s and "items" in new_s:
        yield from _compare(
            old_s["items"], new_s["items"], f"{where}[]", direction, old_r, new_r, depth + 1
        )


def _json_schema(body: Mapping[str, Any]) -> Schema:
    content: Mapping[str, Any] = body.get("content", {})
    for media in ("application/json", *content):
        if media in content:
            schema: Schema = content[media].get("schema", {})
            return schema
    return {}


def _params(operation: Mapping[str, Any]) -> dict[tuple[str, str], Mapping[str, Any]]:
    return {(p["in"], p["name"]): p for p in operation.get("parameters", [])}


def breaking_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Every change in ``new`` that can break a consumer written against ``old``."""
    old_r, new_r = _Resolver(old), _Resolver(new)
    problems: list[str] = []
    new_paths: Mapping[str, Any] = new.get("paths", {})
    for path, old_item in old.get("paths", {}).items():
        for method in _METHODS:
            if method not in old_item:
                continue
            op = f"{method.upper()} {path}"
            new_op = new_paths.get(path, {}).get(method)
            if new_op is None:
                problems.append(f"{op}: operation removed")
                continue
            old_op = old_item[method]
            if old_op.get("operationId") != new_op.get("operationId"):
                problems.append(
                    f"{op}: operationId changed from {old_op.get('operationId')!r}"
                    f" to {new_op.get('operationId')!r}"
                )
            old_params, new_params = _params(old_op), _params(new_op)
            for key, param in new_params.items():
                if param.get("required") and not old_params.get(key, {}).get("required"):
                    problems.append(f"{op}: new required {key[0]} parameter {key[1]!r}")
            for key, param in old_params.items():
                if key in new_params:
                    problems.extend(
                        _compare(
                            param.get("schema", {}), new_params[key].get("schema", {}),
                            f"{op} {key[0]} parameter {key[1]!r}", "request", old_r, new_r,
                        )
                    )  # fmt: skip
            if "requestBody" in old_op or "requestBody" in new_op:
                if new_op.get("requestBody", {}).get("required") and "requestBody" not in old_op:
                    problems.append(f"{op}: request body is now required")
                problems.extend(
                    _compare(
                        _json_schema(old_op.get("requestBody", {})),
                        _json_schema(new_op.get("requestBody", {})),
                        f"{op} request", "request", old_r, new_r,
                    )
                )  # fmt: skip
            new_responses: Mapping[str, Any] = new_op.get("responses", {})
            for status, old_resp in old_op.get("responses", {}).items():
                if not str(status).startswith("2"):
                    continue
                if status not in new_responses:
                    problems.append(f"{op}: response {status} removed")
                    continue
                problems.extend(
                    _compare(
                        _json_schema(old_resp), _json_schema(new_responses[status]),
                        f"{op} response {status}", "response", old_r, new_r,
                    )
                )  # fmt: skip
    return problems


def schema_breaking_changes(
    old: Schema,
    new: Schema,
    where: str,
    direction: str,
    old_document: Mapping[str, Any],
    new_document: Mapping[str, Any],
) -> list[str]:
    """Breaking changes between two schemas read as a ``request`` or a ``response``.

    ``$ref`` values resolve against the given documents. Other document kinds
    (the AsyncAPI gate) reuse the same rules through this.
    """
    return list(
        _compare(old, new, where, direction, _Resolver(old_document), _Resolver(new_document))
    )


def compare_files(
    argv: list[str],
    module: str,
    compare: Callable[[Mapping[str, Any], Mapping[str, Any]], list[str]],
) -> int:
    """``python -m MODULE OLD.json NEW.json``: print what ``compare`` finds, exit 1 if any."""
    if len(argv) != 2:
        print(f"usage: python -m {module} OLD.json NEW.json", file=sys.stderr)
        return 2
    old, new = (json.loads(Path(p).read_text()) for p in argv)
    problems = compare(old, new)
    for problem in problems:
        print(f"BREAKING: {problem}")
    if not problems:
        print("no breaking changes")
    return 1 if problems else 0


def main(argv: list[str]) -> int:
    """``python -m scripts.openapi_compat OLD.json NEW.json``: exit 1 on breaking changes."""
    return compare_files(argv, "scripts.openapi_compat", breaking_changes)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
