"""The committed AsyncAPI document is current, and no commit breaks the events' consumers.

The same two comparisons as the OpenAPI gate (docs/adr/0006-openapi-gate.md),
with a message payload read as a response: see ``scripts/asyncapi_compat.py``.
"""

import pytest

from scripts.asyncapi_compat import breaking_changes
from scripts.export_asyncapi import ASYNCAPI_PATH, current_document
from scripts.export_openapi import render
from tests.support.committed import ROOT, baseline_revision, committed_at, require_repository

# A deliberate break is a decision: list it with the ADR that accepted it. The usual
# way out is a new version of the event, published next to the old one.
ACCEPTED_BREAKS: frozenset[str] = frozenset()


def _unaccepted(changes: list[str]) -> list[str]:
    return [c for c in changes if c not in ACCEPTED_BREAKS]


def test_committed_document_is_current() -> None:
    assert ASYNCAPI_PATH.exists(), f"{ASYNCAPI_PATH} is missing: run `just openapi` and commit it"
    assert ASYNCAPI_PATH.read_text() == render(current_document()), (
        f"{ASYNCAPI_PATH.relative_to(ROOT)} differs from the event DTOs: run `just openapi`, "
        "review the diff (is it a breaking change?) and commit it"
    )


def test_events_do_not_break_the_committed_baseline() -> None:
    require_repository()
    revision = baseline_revision()
    baseline = committed_at(revision, ASYNCAPI_PATH)
    if baseline is None:
        pytest.skip(f"no AsyncAPI document committed at {revision} yet")
    changes = _unaccepted(breaking_changes(baseline, current_document()))
    assert not changes, f"events break consumers built against {revision}:\n  " + "\n  ".join(
        changes
    )


def test_last_commit_does_not_break_the_previous_document() -> None:
    require_repository()
    head = committed_at("HEAD", ASYNCAPI_PATH)
    previous = committed_at("HEAD~1", ASYNCAPI_PATH)
    if head is None or previous is None:
        pytest.skip("no AsyncAPI document at both HEAD and HEAD~1 (new, or a shallow clone)")
    changes = _unaccepted(breaking_changes(previous, head))
    assert not changes, "the last commit broke an integration event:\n  " + "\n  ".join(changes)
