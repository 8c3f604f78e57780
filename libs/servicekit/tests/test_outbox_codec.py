"""The outbox codec: dataclass events to a row's JSON and back, each type's hints resolved once."""

import dataclasses
import typing
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from uuid import UUID

import pytest

from libs.servicekit.tests.outboxes import CODEC, Closed, Opened
from servicekit.outbox.codec import EventCodec


class Tier(StrEnum):
    """A plain enum field."""

    GOLD = "gold"


@dataclass(frozen=True, kw_only=True)
class Priced:
    """One field of each kind the codec converts, and a default added later."""

    id: UUID
    at: datetime
    amount: Decimal
    tier: Tier
    until: datetime | None
    note: str | None
    count: int
    flag: bool
    parent: UUID | None = None


PRICED = Priced(
    id=UUID(int=1),
    at=datetime(2026, 1, 1, 12, 0, 0, 500, tzinfo=UTC),
    amount=Decimal("1.10"),
    tier=Tier.GOLD,
    until=None,
    note="é",
    count=3,
    flag=True,
)
PRICED_ROW = (
    "Priced",
    '{"amount": "1.10", "at": "2026-01-01T12:00:00.000500+00:00", "count": 3, "flag": true,'
    ' "id": "00000000-0000-0000-0000-000000000001", "note": "\\u00e9", "parent": null,'
    ' "tier": "gold", "until": null}',
)
codec: EventCodec[Priced] = EventCodec([Priced])


def test_the_payload_is_the_fields_as_sorted_json_with_plain_values() -> None:
    assert codec.encode(PRICED) == PRICED_ROW
    assert codec.decode(*PRICED_ROW) == PRICED


def test_optional_fields_convert_when_present() -> None:
    later = dataclasses.replace(PRICED, until=PRICED.at, parent=UUID(int=2))
    assert codec.decode(*codec.encode(later)) == later


def test_a_field_missing_from_an_older_row_takes_its_default() -> None:
    event_type, payload = PRICED_ROW
    assert codec.decode(event_type, payload.replace(' "parent": null,', "")) == PRICED


def test_subclasses_of_one_dataclass_are_their_own_types() -> None:
    opened, closed = Opened(account="a"), Closed(account="a", event_id=UUID(int=9))
    assert CODEC.encode(closed) == (
        "Closed",
        '{"account": "a", "event_id": "00000000-0000-0000-0000-000000000009"}',
    )
    assert CODEC.decode(*CODEC.encode(opened)) == opened
    assert CODEC.event_types == {"Opened": Opened, "Closed": Closed}


def test_unknown_types_and_fields_are_refused() -> None:
    with pytest.raises(KeyError):
        codec.decode("Teleported", "{}")
    with pytest.raises(KeyError):
        codec.decode("Priced", '{"colour": "red"}')
    with pytest.raises(TypeError, match="Opened is not a registered event type"):
        codec.encode(Opened(account="a"))  # type: ignore[arg-type]


def test_types_must_be_uniquely_named_dataclasses() -> None:
    with pytest.raises(TypeError, match="not a dataclass"):
        EventCodec([Tier])
    renamed = type("Priced", (Opened,), {})
    with pytest.raises(ValueError, match="two event types are named Priced"):
        EventCodec([Priced, renamed])


def test_decode_resolves_no_type_hints_per_row(monkeypatch: pytest.MonkeyPatch) -> None:
    # Resolving a dataclass's hints cost more than the rest of a decode (ADR 0022).
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("type hints resolved per row")

    monkeypatch.setattr(typing, "get_type_hints", refuse)
    assert codec.decode(*codec.encode(PRICED)) == PRICED
