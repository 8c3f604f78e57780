"""HttpProductClient edge behaviour against a respx router (injected MockTransport)."""

import asyncio
import time
from collections.abc import Callable
from typing import Any
from uuid import uuid4

import httpx
import pytest
import respx
from pydantic import ValidationError

from orders.adapters.product_clients.http import HttpProductClient
from servicekit.http_client.protect import BreakerState
from servicekit.requestid import set_request_id
from shop_contracts.errors import (
    IdempotencyKeyReused,
    InsufficientStock,
    MixedCurrencies,
    OrderTotalTooLarge,
    ProductNotFound,
    ProductsUnavailable,
    ReservationExpired,
    ReservationNotFound,
    ReservationReleased,
)
from shop_contracts.reservations import ReservationLineRequest

MakeClient = Callable[..., HttpProductClient]
Body = Callable[..., dict[str, Any]]
ProblemFactory = Callable[..., httpx.Response]
Metric = Callable[..., float]


def _state(client: HttpProductClient) -> BreakerState:
    return client.guard.breaker.state  # a call, so mypy does not carry narrowing across calls


def _lines() -> list[ReservationLineRequest]:
    return [ReservationLineRequest(product_id=uuid4(), quantity=2)]


async def test_get_product_returns_the_product(
    router: respx.Router, make_client: MakeClient, product_body: Body
) -> None:
    product_id = uuid4()
    router.get(f"/products/{product_id}").respond(200, json=product_body(product_id))

    product = await make_client().get_product(product_id)

    assert product.id == product_id
    assert str(product.price) == "19.90"


async def test_every_call_carries_service_credential_and_request_id(
    router: respx.Router, make_client: MakeClient, product_body: Body
) -> None:
    product_id = uuid4()
    route = router.get(f"/products/{product_id}").respond(200, json=product_body(product_id))
    set_request_id("req-abc-123")
    try:
        await make_client().get_product(product_id)
    finally:
        set_request_id(None)

    request = route.calls.last.request
    assert request.headers["Authorization"] == "Bearer test-service-token-0123456789"
    assert request.headers["X-Request-ID"] == "req-abc-123"


async def test_minted_request_id_is_kept_across_retries(
    router: respx.Router, make_client: MakeClient, product_body: Body
) -> None:
    product_id = uuid4()
    route = router.get(f"/products/{product_id}")
    route.side_effect = [httpx.Response(503), httpx.Response(200, json=product_body(product_id))]

    await make_client().get_product(product_id)

    ids = {call.request.headers["X-Request-ID"] for call in route.calls}
    assert len(ids) == 1
    assert len(ids.pop()) >= 16


async def test_product_not_found_problem_maps_to_product_not_found_with_ids(
    router: respx.Router, make_client: MakeClient, problem: ProblemFactory
) -> None:
    product_id = uuid4()
    router.get(f"/products/{product_id}").mock(
        return_value=problem(404, "product_not_found", product_ids=[str(product_id)])
    )

    with pytest.raises(ProductNotFound) as caught:
        await make_client().get_product(product_id)

    assert caught.value.product_ids == [product_id]


async def test_check_stock_sends_quantity_and_maps_unknown_product(
    router: respx.Router, make_client: MakeClient, problem: ProblemFactory
) -> None:
    product_id = uuid4()
    route = router.get(f"/products/{product_id}/stock").mock(
        return_value=problem(404, "product_not_found")
    )

    with pytest.raises(ProductNotFound) as caught:
        await make_client().check_stock(product_id, 3)

    assert caught.value.product_ids == [product_id]
    assert route.calls.last.request.url.params["quantity"] == "3"


async def test_generic_404_is_not_mistaken_for_a_missing_product(
    router: respx.Router, make_client: MakeClient, problem: ProblemFactory
) -> None:
    product_id = uuid4()
    router.get(f"/products/{product_id}").mock(return_value=problem(404, "not_found"))

    with pytest.raises(ProductsUnavailable, match="not_found"):
        await make_client().get_product(product_id)


async def test_lookup_posts_ids_and_returns_items_and_missing(
    router: respx.Router, make_client: MakeClient, product_body: Body
) -> None:
    known, unknown = uuid4(), uuid4()
    route = router.post("/products/lookup").respond(
        200, json={"items": [product_body(known)], "missing": [str(unknown)]}
    )

    lookup = await make_client().lookup_products([known, unknown])

    assert [p.id for p in lookup.items] == [known]
    assert lookup.missing == [unknown]
    assert route.calls.last.request.content == (f'{{"ids":["{known}","{unknown}"]}}').encode()


@pytest.mark.parametrize("status", [200, 201])
async def test_reserve_accepts_new_and_replayed_reservations(
    status: int, router: respx.Router, make_client: MakeClient, reservation_body: Body
) -> None:
    reservation_id = uuid4()
    route = router.post("/reservations").respond(status, json=reservation_body(reservation_id))
    lines = _lines()

    reservation = await make_client().reserve("order-key-1", lines)

    assert reservation.id == reservation_id
    sent = route.calls.last.request.content
    assert b'"reservation_key":"order-key-1"' in sent
    assert str(lines[0].product_id).encode() in sent


async def test_reserve_insufficient_stock_names_the_products(
    router: respx.Router, make_client: MakeClient, problem: ProblemFactory
) -> None:
    short = uuid4()
    router.post("/reservations").mock(
        return_value=problem(409, "insufficient_stock", product_ids=[str(short)])
    )

    with pytest.raises(InsufficientStock) as caught:
        await make_client().reserve("k", _lines())

    assert caught.value.product_ids == [short]


async def test_reserve_unknown_product_maps_to_product_not_found(
    router: respx.Router, make_client: MakeClient, problem: ProblemFactory
) -> None:
    unknown = uuid4()
    router.post("/reservations").mock(
        return_value=problem(404, "product_not_found", product_ids=[str(unknown)])
    )

    with pytest.raises(ProductNotFound) as caught:
        await make_client().reserve("k", _lines())

    assert caught.value.product_ids == [unknown]


async def test_reserve_with_reused_key_maps_to_idempotency_key_reused(
    router: respx.Router, make_client: MakeClient, problem: ProblemFactory
) -> None:
    router.post("/reservations").mock(return_value=problem(422, "idempotency_key_reused"))

    with pytest.raises(IdempotencyKeyReused):
        await make_client().reserve("k", _lines())


async def test_a_refused_hold_maps_to_the_error_local_mode_raises(
    router: respx.Router, make_client: MakeClient, problem: ProblemFactory
) -> None:
    router.post("/reservations").mock(
        side_effect=[
            problem(422, "mixed_currencies", currencies=["EUR", "USD"]),
            problem(422, "order_total_too_large", detail="The order total 1.00 passes it"),
        ]
    )

    with pytest.raises(MixedCurrencies) as mixed:
        await make_client().reserve("k", _lines())
    with pytest.raises(OrderTotalTooLarge) as too_large:
        await make_client().reserve("k", _lines())

    assert mixed.value.detail == MixedCurrencies(["USD", "EUR"]).detail
    assert mixed.value.currencies == ["EUR", "USD"]
    assert too_large.value.detail == "The order total 1.00 passes it"


@pytest.mark.parametrize(
    ("code", "error"),
    [("reservation_expired", ReservationExpired), ("reservation_released", ReservationReleased)],
)
async def test_confirm_conflicts_map_by_problem_code(
    code: str,
    error: type[Exception],
    router: respx.Router,
    make_client: MakeClient,
    problem: ProblemFactory,
) -> None:
    reservation_id = uuid4()
    router.post(f"/reservations/{reservation_id}/confirm").mock(return_value=problem(409, code))

    with pytest.raises(error) as caught:
        await make_client().confirm(reservation_id)

    assert type(caught.value) is error
    assert caught.value.reservation_id == reservation_id  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("confirm", "/reservations/{id}/confirm"),
        ("release", "/reservations/{id}/release"),
        ("get_reservation", "/reservations/{id}"),
    ],
)
async def test_unknown_reservation_maps_to_reservation_not_found(
    method: str, path: str, router: respx.Router, make_client: MakeClient, problem: ProblemFactory
) -> None:
    reservation_id = uuid4()
    router.route(path=path.format(id=reservation_id)).mock(
        return_value=problem(404, "reservation_not_found")
    )

    with pytest.raises(ReservationNotFound) as caught:
        await getattr(make_client(), method)(reservation_id)

    assert caught.value.reservation_id == reservation_id


async def test_validation_error_from_products_is_reported_as_contract_drift(
    router: respx.Router, make_client: MakeClient, problem: ProblemFactory
) -> None:
    router.post("/reservations").mock(
        return_value=problem(
            422, "validation_error", invalid_params=[{"name": "lines", "reason": "bad"}]
        )
    )

    with pytest.raises(ProductsUnavailable, match=r"invalid \(lines\).*contract"):
        await make_client().reserve("k", _lines())


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.lookup_products([]),
        lambda c: c.lookup_products([uuid4() for _ in range(101)]),
        lambda c: c.check_stock(uuid4(), 0),
        lambda c: c.reserve("", [ReservationLineRequest(product_id=uuid4(), quantity=1)]),
        lambda c: c.reserve("k", []),
    ],
)
async def test_invalid_input_raises_validation_error_before_any_request(
    call: Callable[[HttpProductClient], Any], router: respx.Router, make_client: MakeClient
) -> None:
    catch_all = router.route().respond(200)

    with pytest.raises(ValidationError):
        await call(make_client())

    assert not catch_all.called


@pytest.mark.parametrize("status", [401, 403])
async def test_rejected_service_credential_is_unavailable_and_not_retried(
    status: int, router: respx.Router, make_client: MakeClient, problem: ProblemFactory
) -> None:
    product_id = uuid4()
    route = router.get(f"/products/{product_id}").mock(
        return_value=problem(status, "not_authenticated")
    )

    with pytest.raises(ProductsUnavailable, match="service credential"):
        await make_client().get_product(product_id)

    assert route.call_count == 1


async def test_internal_error_is_unavailable_without_retry(
    router: respx.Router, make_client: MakeClient, problem: ProblemFactory
) -> None:
    product_id = uuid4()
    route = router.get(f"/products/{product_id}").mock(return_value=problem(500, "internal_error"))

    with pytest.raises(ProductsUnavailable, match="HTTP 500"):
        await make_client().get_product(product_id)

    assert route.call_count == 1


async def test_transient_503_is_retried_and_counted(
    router: respx.Router, make_client: MakeClient, product_body: Body, metric: Metric
) -> None:
    product_id = uuid4()
    route = router.get(f"/products/{product_id}")
    route.side_effect = [
        httpx.Response(503),
        httpx.Response(504),
        httpx.Response(200, json=product_body(product_id)),
    ]
    labels = {"method": "get_product"}
    before = metric("orders_product_client_retries_total", **labels, reason="status_503")

    product = await make_client(max_attempts=3).get_product(product_id)

    assert product.id == product_id
    assert route.call_count == 3
    after = metric("orders_product_client_retries_total", **labels, reason="status_503")
    assert after == before + 1


async def test_exhausted_retries_give_products_unavailable_with_retry_after(
    router: respx.Router, make_client: MakeClient
) -> None:
    product_id = uuid4()
    route = router.get(f"/products/{product_id}").respond(503, headers={"Retry-After": "7"})

    with pytest.raises(ProductsUnavailable) as caught:
        await make_client(max_attempts=4).get_product(product_id)

    assert route.call_count == 4
    assert caught.value.retry_after == 7


@pytest.mark.parametrize(
    "content",
    [b"not json{", b"<html>502 bad gateway</html>", b""],
    ids=["garbage", "html", "empty"],
)
async def test_unparseable_success_body_is_unavailable(
    content: bytes, router: respx.Router, make_client: MakeClient
) -> None:
    product_id = uuid4()
    router.get(f"/products/{product_id}").respond(200, content=content)

    with pytest.raises(ProductsUnavailable, match="invalid Product body"):
        await make_client().get_product(product_id)


async def test_schema_invalid_success_body_is_unavailable(
    router: respx.Router, make_client: MakeClient, product_body: Body
) -> None:
    product_id = uuid4()
    router.get(f"/products/{product_id}").respond(
        200, json=product_body(product_id, stock_available=-1, price="free")
    )

    with pytest.raises(ProductsUnavailable, match="invalid Product body") as caught:
        await make_client().get_product(product_id)

    assert isinstance(caught.value.__cause__, ValidationError)


@pytest.mark.parametrize(
    ("status", "content"),
    [
        (404, b"<html>nginx</html>"),
        (409, b'{"code": "some_future_code", "title": "x", "status": 409}'),
        (409, b'{"code": "insufficient_stock", "title": "x", "status": 409}'),
    ],
    ids=["not-a-problem", "unknown-code", "missing-product-ids"],
)
async def test_unusable_error_body_is_unavailable(
    status: int, content: bytes, router: respx.Router, make_client: MakeClient
) -> None:
    router.post("/reservations").respond(status, content=content)

    with pytest.raises(ProductsUnavailable):
        await make_client().reserve("k", _lines())


async def test_unexpected_success_status_is_unavailable(
    router: respx.Router, make_client: MakeClient, product_body: Body
) -> None:
    product_id = uuid4()
    router.get(f"/products/{product_id}").respond(202, json=product_body(product_id))

    with pytest.raises(ProductsUnavailable, match="HTTP 202"):
        await make_client().get_product(product_id)


@pytest.mark.parametrize(
    "error",
    [httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ReadTimeout],
)
async def test_transport_failures_are_retried_up_to_max_attempts(
    error: type[Exception], router: respx.Router, make_client: MakeClient
) -> None:
    product_id = uuid4()
    route = router.get(f"/products/{product_id}").mock(side_effect=error)

    with pytest.raises(ProductsUnavailable, match=error.__name__):
        await make_client(max_attempts=3).get_product(product_id)

    assert route.call_count == 3


@pytest.mark.parametrize(
    "error", [httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.ProxyError]
)
async def test_non_transient_transport_errors_are_not_retried(
    error: type[Exception], router: respx.Router, make_client: MakeClient
) -> None:
    product_id = uuid4()
    route = router.get(f"/products/{product_id}").mock(side_effect=error)

    with pytest.raises(ProductsUnavailable):
        await make_client(max_attempts=3).get_product(product_id)

    assert route.call_count == 1


async def test_backoff_waits_stay_within_bounds(
    router: respx.Router, make_client: MakeClient, sleeps: Any
) -> None:
    product_id = uuid4()
    router.get(f"/products/{product_id}").mock(side_effect=httpx.ConnectError)

    with pytest.raises(ProductsUnavailable):
        await make_client(max_attempts=6, initial_backoff=0.1, max_backoff=0.3).get_product(
            product_id
        )

    assert len(sleeps.waits) == 5
    assert 0.1 <= sleeps.waits[0] <= 0.2
    assert all(0.1 <= wait <= 0.3 for wait in sleeps.waits)
    assert sleeps.waits[-1] == pytest.approx(0.3)


async def test_deadline_bounds_the_whole_call(
    router: respx.Router, make_client: MakeClient
) -> None:
    product_id = uuid4()

    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)
        return httpx.Response(200)

    router.get(f"/products/{product_id}").mock(side_effect=hang)
    client = make_client(deadline_seconds=0.2)

    start = time.perf_counter()
    with pytest.raises(ProductsUnavailable, match=r"within 0\.2s"):
        await client.get_product(product_id)

    assert time.perf_counter() - start < 0.5


async def test_open_breaker_fails_fast_without_network_then_recovers(
    router: respx.Router,
    make_client: MakeClient,
    product_body: Body,
    advance_clock: Callable[[float], None],
    metric: Metric,
) -> None:
    product_id = uuid4()
    route = router.get(f"/products/{product_id}").respond(503)
    client = make_client(
        max_attempts=1, failure_threshold=2, reset_seconds=10, breaker_name="http-test"
    )
    for _ in range(2):
        with pytest.raises(ProductsUnavailable):
            await client.get_product(product_id)
    assert _state(client) is BreakerState.OPEN
    assert metric("orders_product_client_breaker_state", breaker="http-test") == 1

    start = time.perf_counter()
    with pytest.raises(ProductsUnavailable, match="circuit is open") as caught:
        await client.get_product(product_id)
    assert time.perf_counter() - start < 0.005
    assert route.call_count == 2
    assert caught.value.retry_after == 10

    advance_clock(10)
    route.respond(200, json=product_body(product_id))
    assert (await client.get_product(product_id)).id == product_id
    assert _state(client) is BreakerState.CLOSED
    assert route.call_count == 3
    assert metric("orders_product_client_breaker_state", breaker="http-test") == 0


async def test_failed_probe_reopens_the_breaker(
    router: respx.Router, make_client: MakeClient, advance_clock: Callable[[float], None]
) -> None:
    product_id = uuid4()
    route = router.get(f"/products/{product_id}").mock(side_effect=httpx.ConnectError)
    client = make_client(max_attempts=3, failure_threshold=1, reset_seconds=5)

    with pytest.raises(ProductsUnavailable):
        await client.get_product(product_id)
    # the breaker opened on the first attempt, so the retries failed fast
    assert route.call_count == 1

    advance_clock(5)
    with pytest.raises(ProductsUnavailable):
        await client.get_product(product_id)
    assert route.call_count == 2
    assert _state(client) is BreakerState.OPEN


async def test_probe_that_hits_the_deadline_reopens_the_breaker(
    router: respx.Router, make_client: MakeClient, advance_clock: Callable[[float], None]
) -> None:
    product_id = uuid4()

    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)
        return httpx.Response(200)

    route = router.get(f"/products/{product_id}").mock(side_effect=httpx.ConnectError)
    client = make_client(max_attempts=1, failure_threshold=1, deadline_seconds=0.1)
    with pytest.raises(ProductsUnavailable):
        await client.get_product(product_id)

    advance_clock(5)
    route.mock(side_effect=hang)
    with pytest.raises(ProductsUnavailable, match="within"):
        await client.get_product(product_id)

    assert _state(client) is BreakerState.OPEN


async def test_domain_answers_do_not_trip_the_breaker(
    router: respx.Router, make_client: MakeClient, problem: ProblemFactory
) -> None:
    product_id = uuid4()
    router.get(f"/products/{product_id}").mock(return_value=problem(404, "product_not_found"))
    client = make_client(failure_threshold=2)

    for _ in range(5):
        with pytest.raises(ProductNotFound):
            await client.get_product(product_id)

    assert _state(client) is BreakerState.CLOSED


async def test_half_open_lets_one_probe_through_while_others_fail_fast(
    router: respx.Router,
    make_client: MakeClient,
    product_body: Body,
    advance_clock: Callable[[float], None],
) -> None:
    product_id = uuid4()
    route = router.get(f"/products/{product_id}").respond(503)
    client = make_client(max_attempts=1, failure_threshold=1, reset_seconds=5)
    with pytest.raises(ProductsUnavailable):
        await client.get_product(product_id)
    advance_clock(5)
    release = asyncio.Event()

    async def slow_recovery(request: httpx.Request) -> httpx.Response:
        await release.wait()
        return httpx.Response(200, json=product_body(product_id))

    route.mock(side_effect=slow_recovery)
    probe = asyncio.create_task(client.get_product(product_id))
    await asyncio.sleep(0.01)

    with pytest.raises(ProductsUnavailable, match="probe is in flight"):
        await client.get_product(product_id)
    release.set()

    assert (await probe).id == product_id
    assert route.call_count == 2
    assert _state(client) is BreakerState.CLOSED


@pytest.mark.parametrize(
    ("failure", "maybe_applied"),
    [
        (httpx.ConnectError("refused"), False),
        (httpx.ReadTimeout("slow"), True),
        (httpx.Response(503), True),
    ],
)
async def test_a_failed_reserve_says_whether_it_may_have_held(
    failure: Exception | httpx.Response,
    maybe_applied: bool,
    router: respx.Router,
    make_client: MakeClient,
) -> None:
    router.post("/reservations").mock(side_effect=[failure])
    lines = [ReservationLineRequest(product_id=uuid4(), quantity=1)]

    with pytest.raises(ProductsUnavailable) as caught:
        await make_client(max_attempts=1).reserve("key-1", lines)

    assert caught.value.maybe_applied is maybe_applied


async def test_release_by_key_posts_the_key(
    router: respx.Router, make_client: MakeClient, reservation_body: Body
) -> None:
    route = router.post("/reservation-releases").respond(
        200, json=reservation_body(key="key-9", status="released", lines=[])
    )

    reservation = await make_client().release_by_key("key-9")

    assert route.calls.last.request.content == b'{"reservation_key":"key-9"}'
    assert (reservation.key, reservation.status.value, reservation.lines) == (
        "key-9",
        "released",
        [],
    )
