"""The committed OpenAPI documents are current, and no commit breaks their consumers.

Two comparisons make the gate meaningful on a clean clone of main (see
docs/adr/0006-openapi-gate.md):

- the app's document against the file committed at the baseline (the
  merge-base with ``origin/main`` when that ref exists, else ``HEAD``): catches
  an API change made without regenerating the file;
- the file at ``HEAD`` against the file at ``HEAD~1``: catches a breaking
  change committed together with its regenerated file.
"""

import copy
import re
from collections.abc import Iterator
from typing import Any

import pytest

from scripts.export_openapi import SERVICES, committed_path, current_document, render
from scripts.openapi_compat import breaking_changes
from tests.support.committed import ROOT, baseline_revision, committed_at, require_repository

# A deliberate break is a decision, not an accident: list it here with the ADR or
# issue that accepted it, as "<service>: <message from the checker>".
ACCEPTED_BREAKS: frozenset[str] = frozenset(
    {
        # The header was always required (a request without it is refused with
        # 400 idempotency_key_missing); the document now says so. No client that
        # worked before is broken.
        "orders: POST /api/v1/orders: new required header parameter 'Idempotency-Key'",
        "orders: POST /api/v1/orders header parameter 'Idempotency-Key': "
        "type changed from ['null', 'string'] to ['string']",
        # Money is a decimal string on the wire, in requests too: a JSON number
        # cannot carry every amount in cents, and generated clients typed the price
        # `float | str`. Only the admin endpoints take a price, and their callers
        # (seed, tests, tooling) send strings; a number is now a 422 saying so.
        "products: POST /api/v1/products request.price: "
        "type changed from ['number', 'string'] to ['string']",
        "products: POST /api/v1/products/bulk request.products[].price: "
        "type changed from ['number', 'string'] to ['string']",
        "products: PATCH /api/v1/products/{product_id} request.price: "
        "type changed from ['null', 'number', 'string'] to ['null', 'string']",
    }
)


def _committed_at(revision: str, service: str) -> dict[str, Any] | None:
    return committed_at(revision, committed_path(service))


# ADR 0006: operation ids moved once from FastAPI's generated ones
# ("place_order_api_v1_orders_post") to the route names ("place_order"), which
# generated clients use as module and function names. Accepted because no client
# generated from the old ids was published; only that exact move is accepted, any
# later rename of an id is a break.
_FROM_GENERATED_ID = re.compile(
    r"(?P<method>[A-Z]+) (?P<path>\S+): operationId changed from '(?P<old>\w+)' to '\w+'"
)


def _moved_from_generated_id(change: str) -> bool:
    match = _FROM_GENERATED_ID.fullmatch(change)
    if match is None:
        return False
    suffix = re.sub(r"\W", "_", match["path"]) + "_" + match["method"].lower()
    return match["old"].endswith(suffix)


def _unaccepted(service: str, changes: list[str]) -> list[str]:
    return [
        c
        for c in changes
        if f"{service}: {c}" not in ACCEPTED_BREAKS and not _moved_from_generated_id(c)
    ]


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_committed_document_is_current(service: str) -> None:
    path = committed_path(service)
    assert path.exists(), f"{path} is missing: run `just openapi` and commit it"
    assert path.read_text() == render(current_document(service)), (
        f"{path.relative_to(ROOT)} differs from what the {service} app serves: "
        "run `just openapi`, review the diff (is it a breaking change?) and commit it"
    )


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_app_does_not_break_the_committed_baseline(service: str) -> None:
    require_repository()
    revision = baseline_revision()
    baseline = _committed_at(revision, service)
    if baseline is None:
        pytest.skip(f"{service}: no OpenAPI document committed at {revision} yet")
    changes = _unaccepted(service, breaking_changes(baseline, current_document(service)))
    assert not changes, (
        f"{service} API breaks consumers built against {revision}:\n  " + "\n  ".join(changes)
    )


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_last_commit_does_not_break_the_previous_document(service: str) -> None:
    require_repository()
    head = _committed_at("HEAD", service)
    previous = _committed_at("HEAD~1", service)
    if head is None or previous is None:
        pytest.skip(f"{service}: no OpenAPI document at both HEAD and HEAD~1 (shallow clone?)")
    changes = _unaccepted(service, breaking_changes(previous, head))
    assert not changes, (
        f"the last commit made a breaking change to the {service} API:\n  " + "\n  ".join(changes)
    )


def test_only_the_move_from_generated_operation_ids_is_accepted() -> None:
    moved = (
        "POST /api/v1/orders/{order_id}/cancel: operationId changed from"
        " 'cancel_order_api_v1_orders__order_id__cancel_post' to 'cancel_order'"
    )
    renamed = "POST /api/v1/orders: operationId changed from 'place_order' to 'create_order'"

    assert _unaccepted("orders", [moved, renamed]) == [renamed]


def test_order_status_is_closed_and_says_so() -> None:
    # ADR 0006: a status is never added without a new API version; the gate refuses one.
    document = current_document("orders")
    status = document["components"]["schemas"]["OrderStatus"]
    widened = copy.deepcopy(document)
    widened["components"]["schemas"]["OrderStatus"]["enum"].append("on_hold")

    assert "new API version" in " ".join(status["description"].split())
    assert any("may now return ['on_hold']" in c for c in breaking_changes(document, widened))


def _money_fields(node: Any, where: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        if node.get("type") == "string" and "\\d" in str(node.get("pattern", "")):
            yield where, node
        for key, value in node.items():
            yield from _money_fields(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _money_fields(value, f"{where}/{index}")


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_amount_is_a_documented_decimal_string(service: str) -> None:
    fields = list(_money_fields(current_document(service)["components"]))

    assert fields
    for where, schema in fields:
        assert schema.get("format") == "decimal", where
        assert "decimal type, never a binary float" in schema.get("description", ""), where
