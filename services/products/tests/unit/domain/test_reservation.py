"""Reservation rules: line normalisation, request fingerprints, lapse and stock holding."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID

import pytest

from products.domain.reservation import (
    Line,
    Reservation,
    ReservationLine,
    ReservationStatus,
    merged_lines,
    request_fingerprint,
)
from shop_contracts.money import Money

A = UUID(int=1)
B = UUID(int=2)
NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)


def _reservation(status: ReservationStatus, expires_in: float) -> Reservation:
    return Reservation(
        id=UUID(int=99),
        key="k",
        request_hash="h",
        status=status,
        expires_at=NOW + timedelta(seconds=expires_in),
        created_at=NOW,
        lines=(ReservationLine(A, 1, "a", Money(Decimal("1.00"), "EUR")),),
    )


def test_lines_of_the_same_product_are_summed_and_sorted_by_product() -> None:
    lines = [Line(B, 1), Line(A, 2), Line(B, 3)]

    assert merged_lines(lines) == (Line(A, 2), Line(B, 4))


def test_fingerprint_is_the_same_for_requests_meaning_the_same_hold() -> None:
    split = [Line(B, 1), Line(A, 2), Line(B, 1)]
    merged = [Line(A, 2), Line(B, 2)]

    assert request_fingerprint(split) == request_fingerprint(merged)


@pytest.mark.parametrize(
    "other",
    [
        [Line(A, 2), Line(B, 3)],
        [Line(A, 2)],
        [Line(A, 2), Line(B, 2), Line(UUID(int=3), 1)],
    ],
)
def test_fingerprint_differs_when_quantities_or_products_differ(other: list[Line]) -> None:
    assert request_fingerprint([Line(A, 2), Line(B, 2)]) != request_fingerprint(other)


def test_a_held_reservation_lapses_at_its_expiry() -> None:
    assert not _reservation(ReservationStatus.HELD, 1).is_lapsed(NOW)
    assert _reservation(ReservationStatus.HELD, 0).is_lapsed(NOW)
    assert _reservation(ReservationStatus.HELD, -1).is_lapsed(NOW)


@pytest.mark.parametrize(
    "status", [ReservationStatus.CONFIRMED, ReservationStatus.RELEASED, ReservationStatus.EXPIRED]
)
def test_only_held_reservations_lapse(status: ReservationStatus) -> None:
    assert not _reservation(status, -60).is_lapsed(NOW)


@pytest.mark.parametrize(
    ("status", "holds"),
    [
        (ReservationStatus.HELD, True),
        (ReservationStatus.CONFIRMED, True),
        (ReservationStatus.RELEASED, False),
        (ReservationStatus.EXPIRED, False),
    ],
)
def test_held_and_confirmed_reservations_keep_stock_taken(
    status: ReservationStatus, holds: bool
) -> None:
    assert _reservation(status, 60).holds_stock is holds
