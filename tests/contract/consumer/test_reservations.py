"""What orders needs from products' reservation endpoints (try / confirm / cancel)."""

from uuid import UUID

import pytest
from pact import Pact, match

from shop_contracts.errors import (
    ErrorCode,
    IdempotencyKeyReused,
    InsufficientStock,
    ProductNotFound,
    ReservationExpired,
    ReservationNotFound,
    ReservationReleased,
)
from shop_contracts.reservations import ReservationLineRequest, ReservationStatus
from tests.contract.conftest import PACT_GROUP
from tests.contract.consumer import bodies
from tests.contract.consumer.conftest import ClientFor
from tests.contract.states import (
    HELD,
    LAPSED,
    MUG,
    NO_RESERVATION_WITH_KEY,
    PLACEHOLDER_SERVICE_TOKEN,
    PRODUCT_DOES_NOT_EXIST,
    PRODUCT_EXISTS,
    RELEASED,
    RESERVATION_DOES_NOT_EXIST,
    RESERVATION_HELD,
    RESERVATION_LAPSED,
    RESERVATION_MADE,
    RESERVATION_RELEASED,
    UNKNOWN_PRODUCT,
    UNKNOWN_RESERVATION,
)

# One worker for every pact test (tests/contract/conftest.py, PACT_GROUP).
pytestmark = pytest.mark.xdist_group(PACT_GROUP)

API = "/api/v1"
BEARER = match.regex(f"Bearer {PLACEHOLDER_SERVICE_TOKEN}", regex=r"^Bearer \S+$")
JSON = "application/json"
PROBLEM_JSON = "application/problem+json"


def _reserve_body(key: str, product_id: UUID, quantity: int) -> dict[str, object]:
    return {
        "reservation_key": key,
        "lines": [{"product_id": str(product_id), "quantity": quantity}],
    }


def _lines(product_id: UUID, quantity: int) -> list[ReservationLineRequest]:
    return [ReservationLineRequest(product_id=product_id, quantity=quantity)]


async def test_reserve_holds_stock_and_answers_201(pact: Pact, client_for: ClientFor) -> None:
    key = "order-new-1"
    (
        pact.upon_receiving("a reservation of available stock")
        .given(PRODUCT_EXISTS, id=str(MUG), stock=10)
        .given(NO_RESERVATION_WITH_KEY, key=key)
        .with_request("POST", f"{API}/reservations")
        .with_header("Authorization", BEARER)
        .with_body(_reserve_body(key, MUG, 2), content_type=JSON)
        .will_respond_with(201)
        .with_body(bodies.reservation(status="held", product_id=MUG, quantity=2), content_type=JSON)
    )
    async with client_for(pact) as client:
        reservation = await client.reserve(key, _lines(MUG, 2))

    assert reservation.status is ReservationStatus.HELD
    assert [(line.product_id, line.quantity) for line in reservation.lines] == [(MUG, 2)]


async def test_reserve_replay_with_the_same_key_answers_200_with_the_same_hold(
    pact: Pact, client_for: ClientFor
) -> None:
    key = "order-replayed-1"
    (
        pact.upon_receiving("a replay of a reservation with the same key and lines")
        .given(RESERVATION_MADE, key=key, product_id=str(MUG), quantity=2)
        .with_request("POST", f"{API}/reservations")
        .with_header("Authorization", BEARER)
        .with_body(_reserve_body(key, MUG, 2), content_type=JSON)
        .will_respond_with(200)
        .with_body(bodies.reservation(status="held", product_id=MUG, quantity=2), content_type=JSON)
    )
    async with client_for(pact) as client:
        reservation = await client.reserve(key, _lines(MUG, 2))

    assert reservation.status is ReservationStatus.HELD


async def test_reserve_same_key_other_lines_raises_idempotency_key_reused(
    pact: Pact, client_for: ClientFor
) -> None:
    key = "order-reused-1"
    (
        pact.upon_receiving("a reservation reusing a key with different lines")
        .given(RESERVATION_MADE, key=key, product_id=str(MUG), quantity=2)
        .with_request("POST", f"{API}/reservations")
        .with_header("Authorization", BEARER)
        .with_body(_reserve_body(key, MUG, 3), content_type=JSON)
        .will_respond_with(422)
        .with_body(bodies.problem(422, ErrorCode.IDEMPOTENCY_KEY_REUSED), content_type=PROBLEM_JSON)
    )
    async with client_for(pact) as client:
        with pytest.raises(IdempotencyKeyReused):
            await client.reserve(key, _lines(MUG, 3))


async def test_reserve_more_than_available_raises_insufficient_stock(
    pact: Pact, client_for: ClientFor
) -> None:
    key = "order-short-1"
    (
        pact.upon_receiving("a reservation of more units than are available")
        .given(PRODUCT_EXISTS, id=str(MUG), stock=1)
        .given(NO_RESERVATION_WITH_KEY, key=key)
        .with_request("POST", f"{API}/reservations")
        .with_header("Authorization", BEARER)
        .with_body(_reserve_body(key, MUG, 5), content_type=JSON)
        .will_respond_with(409)
        .with_body(
            bodies.problem(409, ErrorCode.INSUFFICIENT_STOCK, product_ids=[str(MUG)]),
            content_type=PROBLEM_JSON,
        )
    )
    async with client_for(pact) as client:
        with pytest.raises(InsufficientStock) as raised:
            await client.reserve(key, _lines(MUG, 5))

    assert raised.value.product_ids == [MUG]


async def test_reserve_unknown_product_raises_product_not_found(
    pact: Pact, client_for: ClientFor
) -> None:
    key = "order-unknown-1"
    (
        pact.upon_receiving("a reservation of a product that does not exist")
        .given(PRODUCT_DOES_NOT_EXIST, id=str(UNKNOWN_PRODUCT))
        .given(NO_RESERVATION_WITH_KEY, key=key)
        .with_request("POST", f"{API}/reservations")
        .with_header("Authorization", BEARER)
        .with_body(_reserve_body(key, UNKNOWN_PRODUCT, 1), content_type=JSON)
        .will_respond_with(404)
        .with_body(
            bodies.problem(404, ErrorCode.PRODUCT_NOT_FOUND, product_ids=[str(UNKNOWN_PRODUCT)]),
            content_type=PROBLEM_JSON,
        )
    )
    async with client_for(pact) as client:
        with pytest.raises(ProductNotFound) as raised:
            await client.reserve(key, _lines(UNKNOWN_PRODUCT, 1))

    assert raised.value.product_ids == [UNKNOWN_PRODUCT]


async def test_confirm_makes_a_held_reservation_confirmed(
    pact: Pact, client_for: ClientFor
) -> None:
    (
        pact.upon_receiving("a confirmation of a held reservation")
        .given(RESERVATION_HELD, id=str(HELD), product_id=str(MUG), quantity=2)
        .with_request("POST", f"{API}/reservations/{HELD}/confirm")
        .with_header("Authorization", BEARER)
        .will_respond_with(200)
        .with_body(
            bodies.reservation(status="confirmed", product_id=MUG, quantity=2, reservation_id=HELD),
            content_type=JSON,
        )
    )
    async with client_for(pact) as client:
        reservation = await client.confirm(HELD)

    assert reservation.id == HELD
    assert reservation.status is ReservationStatus.CONFIRMED


async def test_confirm_lapsed_reservation_raises_reservation_expired(
    pact: Pact, client_for: ClientFor
) -> None:
    (
        pact.upon_receiving("a confirmation of a reservation whose hold lapsed")
        .given(RESERVATION_LAPSED, id=str(LAPSED), product_id=str(MUG), quantity=2)
        .with_request("POST", f"{API}/reservations/{LAPSED}/confirm")
        .with_header("Authorization", BEARER)
        .will_respond_with(409)
        .with_body(bodies.problem(409, ErrorCode.RESERVATION_EXPIRED), content_type=PROBLEM_JSON)
    )
    async with client_for(pact) as client:
        with pytest.raises(ReservationExpired):
            await client.confirm(LAPSED)


async def test_confirm_released_reservation_raises_reservation_released(
    pact: Pact, client_for: ClientFor
) -> None:
    (
        pact.upon_receiving("a confirmation of a released reservation")
        .given(RESERVATION_RELEASED, id=str(RELEASED), product_id=str(MUG), quantity=2)
        .with_request("POST", f"{API}/reservations/{RELEASED}/confirm")
        .with_header("Authorization", BEARER)
        .will_respond_with(409)
        .with_body(bodies.problem(409, ErrorCode.RESERVATION_RELEASED), content_type=PROBLEM_JSON)
    )
    async with client_for(pact) as client:
        with pytest.raises(ReservationReleased):
            await client.confirm(RELEASED)


async def test_release_returns_the_released_reservation(pact: Pact, client_for: ClientFor) -> None:
    (
        pact.upon_receiving("a release of a held reservation")
        .given(RESERVATION_HELD, id=str(HELD), product_id=str(MUG), quantity=2)
        .with_request("POST", f"{API}/reservations/{HELD}/release")
        .with_header("Authorization", BEARER)
        .will_respond_with(200)
        .with_body(
            bodies.reservation(status="released", product_id=MUG, quantity=2, reservation_id=HELD),
            content_type=JSON,
        )
    )
    async with client_for(pact) as client:
        reservation = await client.release(HELD)

    assert reservation.status is ReservationStatus.RELEASED


async def test_release_by_key_returns_the_hold_made_under_the_key(
    pact: Pact, client_for: ClientFor
) -> None:
    key = "order-timed-out-1"
    (
        pact.upon_receiving("a release by key of a held reservation")
        .given(RESERVATION_MADE, key=key, product_id=str(MUG), quantity=2)
        .with_request("POST", f"{API}/reservation-releases")
        .with_header("Authorization", BEARER)
        .with_body({"reservation_key": key}, content_type=JSON)
        .will_respond_with(200)
        .with_body(
            bodies.reservation(status="released", product_id=MUG, quantity=2), content_type=JSON
        )
    )
    async with client_for(pact) as client:
        reservation = await client.release_by_key(key)

    assert reservation.status is ReservationStatus.RELEASED
    assert [(line.product_id, line.quantity) for line in reservation.lines] == [(MUG, 2)]


async def test_release_by_unknown_key_retires_the_key(pact: Pact, client_for: ClientFor) -> None:
    key = "order-never-held-1"
    (
        pact.upon_receiving("a release by key with no reservation under the key")
        .given(NO_RESERVATION_WITH_KEY, key=key)
        .with_request("POST", f"{API}/reservation-releases")
        .with_header("Authorization", BEARER)
        .with_body({"reservation_key": key}, content_type=JSON)
        .will_respond_with(200)
        .with_body(bodies.retired_key(key), content_type=JSON)
    )
    async with client_for(pact) as client:
        reservation = await client.release_by_key(key)

    assert (reservation.key, reservation.status) == (key, ReservationStatus.RELEASED)
    assert reservation.lines == []


async def test_get_reservation_returns_its_state(pact: Pact, client_for: ClientFor) -> None:
    (
        pact.upon_receiving("a request for a held reservation")
        .given(RESERVATION_HELD, id=str(HELD), product_id=str(MUG), quantity=2)
        .with_request("GET", f"{API}/reservations/{HELD}")
        .with_header("Authorization", BEARER)
        .will_respond_with(200)
        .with_body(
            bodies.reservation(status="held", product_id=MUG, quantity=2, reservation_id=HELD),
            content_type=JSON,
        )
    )
    async with client_for(pact) as client:
        reservation = await client.get_reservation(HELD)

    assert reservation.id == HELD
    assert reservation.status is ReservationStatus.HELD


@pytest.mark.parametrize("action", ["get", "confirm", "release"])
async def test_unknown_reservation_raises_reservation_not_found(
    pact: Pact, client_for: ClientFor, action: str
) -> None:
    path = f"{API}/reservations/{UNKNOWN_RESERVATION}"
    method = "GET" if action == "get" else "POST"
    (
        pact.upon_receiving(f"a {action} of a reservation that does not exist")
        .given(RESERVATION_DOES_NOT_EXIST, id=str(UNKNOWN_RESERVATION))
        .with_request(method, path if action == "get" else f"{path}/{action}")
        .with_header("Authorization", BEARER)
        .will_respond_with(404)
        .with_body(bodies.problem(404, ErrorCode.RESERVATION_NOT_FOUND), content_type=PROBLEM_JSON)
    )
    async with client_for(pact) as client:
        calls = {
            "get": client.get_reservation,
            "confirm": client.confirm,
            "release": client.release,
        }
        with pytest.raises(ReservationNotFound):
            await calls[action](UNKNOWN_RESERVATION)
