"""ShadowProductClient: primary answers, reads mirrored and compared, writes never duplicated."""

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

import pytest

from orders.adapters.product_clients.shadow import ShadowProductClient
from shop_contracts.errors import ProductNotFound, ProductsUnavailable
from shop_contracts.products import Product, ProductLookup, StockCheck
from shop_contracts.reservations import (
    Reservation,
    ReservationLine,
    ReservationLineRequest,
    ReservationStatus,
)

Metric = Callable[..., float]
NOW = datetime(2026, 1, 1, tzinfo=UTC)
SHADOW_LOGGER = "orders.adapters.product_clients.shadow"
LINE_PRODUCT = UUID("00000000-0000-4000-8000-000000000001")


def _product(product_id: UUID, price: str = "19.90") -> Product:
    return Product(
        id=product_id,
        sku="SKU-1",
        name="Widget",
        description="",
        price=Decimal(price),
        currency="EUR",
        stock_available=5,
        created_at=NOW,
        updated_at=NOW,
    )


def _reservation(reservation_id: UUID, status: ReservationStatus) -> Reservation:
    line = ReservationLine(
        product_id=LINE_PRODUCT,
        quantity=1,
        product_name="Widget",
        unit_price=Decimal("1.00"),
        currency="EUR",
    )
    return Reservation(
        id=reservation_id,
        key="k",
        status=status,
        expires_at=NOW + timedelta(minutes=15),
        created_at=NOW,
        lines=[line],
    )


class FakeProducts:
    """An in-memory ProductServiceClient with a configurable delay and failure."""

    def __init__(
        self,
        products: dict[UUID, Product],
        *,
        delay: float = 0.0,
        error: Exception | None = None,
        reservation_status: ReservationStatus = ReservationStatus.HELD,
    ) -> None:
        self.products = products
        self.delay = delay
        self.error = error
        self.reservation_status = reservation_status
        self.calls: list[str] = []

    async def _enter(self, method: str) -> None:
        self.calls.append(method)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.error is not None:
            raise self.error

    async def get_product(self, product_id: UUID) -> Product:
        await self._enter("get_product")
        if product_id not in self.products:
            raise ProductNotFound([product_id])
        return self.products[product_id]

    async def lookup_products(self, product_ids: Sequence[UUID]) -> ProductLookup:
        await self._enter("lookup_products")
        return ProductLookup(
            items=[self.products[i] for i in product_ids if i in self.products],
            missing=[i for i in product_ids if i not in self.products],
        )

    async def check_stock(self, product_id: UUID, quantity: int) -> StockCheck:
        await self._enter("check_stock")
        available = self.products[product_id].stock_available
        return StockCheck(
            product_id=product_id,
            requested=quantity,
            stock_available=available,
            available=available >= quantity,
        )

    async def reserve(
        self, reservation_key: str, lines: Sequence[ReservationLineRequest]
    ) -> Reservation:
        await self._enter("reserve")
        return _reservation(uuid4(), ReservationStatus.HELD)

    async def confirm(self, reservation_id: UUID) -> Reservation:
        await self._enter("confirm")
        return _reservation(reservation_id, ReservationStatus.CONFIRMED)

    async def release(self, reservation_id: UUID) -> Reservation:
        await self._enter("release")
        return _reservation(reservation_id, ReservationStatus.RELEASED)

    async def release_by_key(self, reservation_key: str) -> Reservation:
        await self._enter("release_by_key")
        return _reservation(uuid4(), ReservationStatus.RELEASED)

    async def get_reservation(self, reservation_id: UUID) -> Reservation:
        await self._enter("get_reservation")
        return _reservation(reservation_id, self.reservation_status)


def _count(metric: Metric, method: str, result: str) -> float:
    return metric("orders_product_client_shadow_comparisons_total", method=method, result=result)


async def test_identical_answers_are_recorded_as_matches(metric: Metric) -> None:
    product_id = uuid4()
    catalogue = {product_id: _product(product_id)}
    shadow = ShadowProductClient(FakeProducts(catalogue), FakeProducts(dict(catalogue)), 1.0)
    matches, mismatches = (
        _count(metric, "get_product", "match"),
        _count(metric, "get_product", "mismatch"),
    )

    for _ in range(3):
        await shadow.get_product(product_id)
    await shadow.drain()

    assert _count(metric, "get_product", "match") == matches + 3
    assert _count(metric, "get_product", "mismatch") == mismatches


async def test_altered_candidate_is_a_mismatch_but_caller_gets_primary(
    metric: Metric, caplog: pytest.LogCaptureFixture
) -> None:
    product_id = uuid4()
    primary = FakeProducts({product_id: _product(product_id, "19.90")})
    candidate = FakeProducts({product_id: _product(product_id, "18.00")})
    shadow = ShadowProductClient(primary, candidate, 1.0)
    before = _count(metric, "get_product", "mismatch")

    with caplog.at_level(logging.WARNING, logger=SHADOW_LOGGER):
        product = await shadow.get_product(product_id)
        await shadow.drain()

    assert product.price == Decimal("19.90")
    assert _count(metric, "get_product", "mismatch") == before + 1
    [record] = [r for r in caplog.records if getattr(r, "shadow_result", None) == "mismatch"]
    assert record.shadow_differences == ["price"]  # type: ignore[attr-defined]
    assert record.shadow_method == "get_product"  # type: ignore[attr-defined]


async def test_same_domain_error_on_both_sides_is_a_match(metric: Metric) -> None:
    shadow = ShadowProductClient(FakeProducts({}), FakeProducts({}), 1.0)
    before = _count(metric, "get_product", "match")

    with pytest.raises(ProductNotFound):
        await shadow.get_product(uuid4())
    await shadow.drain()

    assert _count(metric, "get_product", "match") == before + 1


async def test_error_on_one_side_only_is_a_mismatch(metric: Metric) -> None:
    product_id = uuid4()
    shadow = ShadowProductClient(
        FakeProducts({product_id: _product(product_id)}), FakeProducts({}), 1.0
    )
    before = _count(metric, "get_product", "mismatch")

    await shadow.get_product(product_id)
    await shadow.drain()

    assert _count(metric, "get_product", "mismatch") == before + 1


async def test_different_error_attributes_are_a_mismatch(
    metric: Metric, caplog: pytest.LogCaptureFixture
) -> None:
    asked, other = uuid4(), uuid4()
    candidate = FakeProducts({}, error=ProductNotFound([other]))
    shadow = ShadowProductClient(FakeProducts({}), candidate, 1.0)
    before = _count(metric, "get_product", "mismatch")

    with caplog.at_level(logging.WARNING):
        with pytest.raises(ProductNotFound):
            await shadow.get_product(asked)
        await shadow.drain()

    assert _count(metric, "get_product", "mismatch") == before + 1
    [record] = [r for r in caplog.records if getattr(r, "shadow_result", None) == "mismatch"]
    assert record.shadow_differences == ["<error>.product_ids"]  # type: ignore[attr-defined]


async def test_unavailable_candidate_is_a_candidate_error_not_a_mismatch(
    metric: Metric,
) -> None:
    product_id = uuid4()
    primary = FakeProducts({product_id: _product(product_id)})
    candidate = FakeProducts({}, error=ProductsUnavailable("down"))
    shadow = ShadowProductClient(primary, candidate, 1.0)
    errors = _count(metric, "get_product", "candidate_error")
    mismatches = _count(metric, "get_product", "mismatch")

    assert (await shadow.get_product(product_id)).id == product_id
    await shadow.drain()

    assert _count(metric, "get_product", "candidate_error") == errors + 1
    assert _count(metric, "get_product", "mismatch") == mismatches


async def test_slow_candidate_does_not_delay_the_caller(metric: Metric) -> None:
    product_id = uuid4()
    catalogue = {product_id: _product(product_id)}
    primary = FakeProducts(catalogue, delay=0.02)
    candidate = FakeProducts(dict(catalogue), delay=0.5)
    shadow = ShadowProductClient(primary, candidate, 2.0)
    before = _count(metric, "get_product", "match")

    start = time.perf_counter()
    await shadow.get_product(product_id)
    elapsed = time.perf_counter() - start

    assert elapsed < 0.15
    assert shadow.pending_comparisons == 1
    await shadow.drain()
    assert _count(metric, "get_product", "match") == before + 1


async def test_candidate_past_the_timeout_is_recorded_as_timeout(metric: Metric) -> None:
    product_id = uuid4()
    catalogue = {product_id: _product(product_id)}
    shadow = ShadowProductClient(
        FakeProducts(catalogue), FakeProducts(dict(catalogue), delay=5), 0.05
    )
    before = _count(metric, "check_stock", "candidate_timeout")

    await shadow.check_stock(product_id, 2)
    await shadow.drain()

    assert _count(metric, "check_stock", "candidate_timeout") == before + 1
    assert shadow.pending_comparisons == 0


async def test_aclose_cancels_comparisons_in_flight(metric: Metric) -> None:
    product_id = uuid4()
    catalogue = {product_id: _product(product_id)}
    shadow = ShadowProductClient(
        FakeProducts(catalogue), FakeProducts(dict(catalogue), delay=5), 10.0
    )
    before = _count(metric, "get_product", "candidate_timeout")

    await shadow.get_product(product_id)
    start = time.perf_counter()
    await shadow.aclose()

    assert time.perf_counter() - start < 0.1
    assert shadow.pending_comparisons == 0
    assert _count(metric, "get_product", "candidate_timeout") == before


@pytest.mark.parametrize("method", ["lookup_products", "check_stock", "get_reservation"])
async def test_every_read_is_shadowed(method: str, metric: Metric) -> None:
    product_id = uuid4()
    catalogue = {product_id: _product(product_id)}
    primary, candidate = FakeProducts(catalogue), FakeProducts(dict(catalogue))
    shadow = ShadowProductClient(primary, candidate, 1.0)
    before = _count(metric, method, "match")
    calls: dict[str, Callable[[], Awaitable[object]]] = {
        "lookup_products": lambda: shadow.lookup_products([product_id, uuid4()]),
        "check_stock": lambda: shadow.check_stock(product_id, 1),
        "get_reservation": lambda: shadow.get_reservation(product_id),
    }

    await calls[method]()
    await shadow.drain()

    assert candidate.calls == [method]
    assert _count(metric, method, "match") == before + 1


async def test_reservation_state_difference_is_a_mismatch(metric: Metric) -> None:
    primary = FakeProducts({}, reservation_status=ReservationStatus.CONFIRMED)
    candidate = FakeProducts({}, reservation_status=ReservationStatus.HELD)
    shadow = ShadowProductClient(primary, candidate, 1.0)
    before = _count(metric, "get_reservation", "mismatch")

    reservation = await shadow.get_reservation(uuid4())
    await shadow.drain()

    assert reservation.status is ReservationStatus.CONFIRMED
    assert _count(metric, "get_reservation", "mismatch") == before + 1


async def test_writes_never_reach_the_candidate() -> None:
    primary, candidate = FakeProducts({}), FakeProducts({})
    shadow = ShadowProductClient(primary, candidate, 1.0)

    await shadow.reserve("k", [ReservationLineRequest(product_id=uuid4(), quantity=1)])
    await shadow.confirm(uuid4())
    await shadow.release(uuid4())
    await shadow.drain()

    assert primary.calls == ["reserve", "confirm", "release"]
    assert candidate.calls == []


async def test_primary_failure_reaches_the_caller_unchanged() -> None:
    primary = FakeProducts({}, error=ProductsUnavailable("local db down"))
    shadow = ShadowProductClient(primary, FakeProducts({}), 1.0)

    with pytest.raises(ProductsUnavailable, match="local db down"):
        await shadow.get_product(uuid4())
    await shadow.drain()


async def test_reads_beyond_max_in_flight_skip_the_candidate(metric: Metric) -> None:
    product_id = uuid4()
    catalogue = {product_id: _product(product_id)}
    candidate = FakeProducts(dict(catalogue), delay=5)
    shadow = ShadowProductClient(FakeProducts(catalogue), candidate, 10.0, max_in_flight=1)
    before = _count(metric, "get_product", "skipped")

    await shadow.get_product(product_id)
    await shadow.get_product(product_id)
    await asyncio.sleep(0)  # let the one background read start

    assert candidate.calls == ["get_product"]
    assert _count(metric, "get_product", "skipped") == before + 1
    await shadow.aclose()


async def test_sample_rate_zero_never_calls_the_candidate(metric: Metric) -> None:
    product_id = uuid4()
    catalogue = {product_id: _product(product_id)}
    candidate = FakeProducts(dict(catalogue))
    shadow = ShadowProductClient(FakeProducts(catalogue), candidate, 1.0, sample_rate=0.0)
    before = _count(metric, "get_product", "sampled_out")

    for _ in range(5):
        assert await shadow.get_product(product_id) == catalogue[product_id]
    await shadow.drain()

    assert candidate.calls == []
    assert _count(metric, "get_product", "sampled_out") == before + 5


async def test_sample_rate_one_mirrors_every_read(metric: Metric) -> None:
    product_id = uuid4()
    catalogue = {product_id: _product(product_id)}
    candidate = FakeProducts(dict(catalogue))
    shadow = ShadowProductClient(FakeProducts(catalogue), candidate, 1.0, sample_rate=1.0)
    before = _count(metric, "get_product", "sampled_out")

    for _ in range(20):
        await shadow.get_product(product_id)
    await shadow.drain()

    assert candidate.calls == ["get_product"] * 20
    assert _count(metric, "get_product", "sampled_out") == before


async def test_a_fractional_sample_rate_mirrors_the_reads_the_rng_picks(metric: Metric) -> None:
    product_id = uuid4()
    catalogue = {product_id: _product(product_id)}
    candidate = FakeProducts(dict(catalogue))
    rate, reads = 0.25, 200
    picks = random.Random(7)
    expected = sum(picks.random() < rate for _ in range(reads))
    shadow = ShadowProductClient(
        FakeProducts(catalogue), candidate, 1.0, sample_rate=rate, rng=random.Random(7)
    )
    before = _count(metric, "get_product", "sampled_out")

    for _ in range(reads):
        await shadow.get_product(product_id)
    await shadow.drain()

    assert len(candidate.calls) == expected
    assert 0 < expected < reads
    assert _count(metric, "get_product", "sampled_out") == before + reads - expected


def test_sample_rate_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="sample_rate"):
        ShadowProductClient(FakeProducts({}), FakeProducts({}), 1.0, sample_rate=1.5)


async def test_a_view_at_another_rate_shares_the_comparisons_in_flight() -> None:
    product_id = uuid4()
    catalogue = {product_id: _product(product_id)}
    candidate = FakeProducts(dict(catalogue), delay=10.0)
    shadow = ShadowProductClient(FakeProducts(catalogue), candidate, 30.0, sample_rate=0.0)
    view = shadow.with_sample_rate(1.0)

    await shadow.get_product(product_id)  # rate 0: not mirrored
    await view.get_product(product_id)  # rate 1: mirrored, still running
    await asyncio.sleep(0)  # let the comparison task start

    assert (shadow.sample_rate, view.sample_rate) == (0.0, 1.0)
    assert shadow.with_sample_rate(0.0) is shadow
    assert candidate.calls == ["get_product"]
    assert shadow.pending_comparisons == view.pending_comparisons == 1
    await shadow.aclose()  # the base client's shutdown cancels the view's comparison too
    assert view.pending_comparisons == 0
    with pytest.raises(ValueError, match="sample_rate"):
        shadow.with_sample_rate(-0.1)


# --- re-reads: a difference is read again before it is judged ------------------------


class ChangingProducts(FakeProducts):
    """Answers ``get_product`` and ``check_stock`` with the next stock level on each call.

    The last level repeats once the list is used up; ``None`` answers ``ProductNotFound``.
    """

    def __init__(self, product_id: UUID, levels: Sequence[int | None], **kwargs: float) -> None:
        super().__init__({}, **kwargs)  # type: ignore[arg-type]
        self.product_id = product_id
        self.levels = list(levels)

    def _next(self) -> int | None:
        return self.levels.pop(0) if len(self.levels) > 1 else self.levels[0]

    async def get_product(self, product_id: UUID) -> Product:
        await self._enter("get_product")
        level = self._next()
        if level is None:
            raise ProductNotFound([product_id])
        return _product(product_id).model_copy(update={"stock_available": level})

    async def check_stock(self, product_id: UUID, quantity: int) -> StockCheck:
        await self._enter("check_stock")
        level = self._next()
        assert level is not None
        return StockCheck(
            product_id=product_id,
            requested=quantity,
            stock_available=level,
            available=level >= quantity,
        )


def _write_between_reads() -> tuple[UUID, ChangingProducts, ChangingProducts]:
    """A product, its primary and its candidate: an order took one between the sides' reads.

    The caller's local read saw 5; an order reserved one before the http read saw 4;
    read again, both sides say 4.
    """
    product_id = uuid4()
    return product_id, ChangingProducts(product_id, [5, 4]), ChangingProducts(product_id, [4])


def _slow_after_first(fake: FakeProducts, seconds: float) -> None:
    """The fake answers its first call at once and every later one after ``seconds``."""

    async def enter(method: str) -> None:
        fake.calls.append(method)
        if len(fake.calls) > 1:
            await asyncio.sleep(seconds)

    fake._enter = enter  # type: ignore[method-assign]


def _records(caplog: pytest.LogCaptureFixture, result: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "shadow_result", None) == result]


async def test_a_difference_a_re_read_does_not_reproduce_is_settled(
    metric: Metric, caplog: pytest.LogCaptureFixture
) -> None:
    product_id, primary, candidate = _write_between_reads()
    shadow = ShadowProductClient(primary, candidate, 1.0)
    before = {r: _count(metric, "check_stock", r) for r in ("match", "settled", "mismatch")}

    with caplog.at_level(logging.INFO, logger=SHADOW_LOGGER):
        check = await shadow.check_stock(product_id, 2)
        await shadow.drain()

    assert check.stock_available == 5  # the caller got the primary's first answer
    assert primary.calls == candidate.calls == ["check_stock", "check_stock"]
    after = {r: _count(metric, "check_stock", r) for r in ("match", "settled", "mismatch")}
    assert after == {**before, "settled": before["settled"] + 1}
    [record] = _records(caplog, "settled")
    assert record.levelno == logging.INFO
    assert record.shadow_differences == ["stock_available"]  # type: ignore[attr-defined]
    assert record.shadow_attempts == 2  # type: ignore[attr-defined]
    assert _records(caplog, "mismatch") == []


async def test_a_difference_that_settles_on_the_last_re_read_is_settled(metric: Metric) -> None:
    product_id = uuid4()
    # Writes keep landing between the two sides' reads until the third attempt.
    primary = ChangingProducts(product_id, [5, 4, 3])
    candidate = ChangingProducts(product_id, [4, 3, 3])
    shadow = ShadowProductClient(primary, candidate, 1.0)
    before = _count(metric, "get_product", "settled")

    await shadow.get_product(product_id)
    await shadow.drain()

    assert len(candidate.calls) == 3
    assert _count(metric, "get_product", "settled") == before + 1


async def test_a_difference_every_attempt_reproduces_is_a_mismatch_after_the_bounded_attempts(
    metric: Metric, caplog: pytest.LogCaptureFixture
) -> None:
    product_id = uuid4()
    primary = ChangingProducts(product_id, [5, 5, 7])
    candidate = ChangingProducts(product_id, [4])
    shadow = ShadowProductClient(primary, candidate, 1.0)
    before = {r: _count(metric, "get_product", r) for r in ("settled", "mismatch")}

    with caplog.at_level(logging.INFO, logger=SHADOW_LOGGER):
        await shadow.get_product(product_id)
        await shadow.drain()

    # The caller's read and the first mirrored one, then exactly two re-reads of each side.
    assert primary.calls == candidate.calls == ["get_product"] * 3
    assert _count(metric, "get_product", "mismatch") == before["mismatch"] + 1
    assert _count(metric, "get_product", "settled") == before["settled"]
    [record] = _records(caplog, "mismatch")
    assert record.levelno == logging.WARNING
    assert record.shadow_differences == ["stock_available"]  # type: ignore[attr-defined]
    assert record.shadow_last_differences == ["stock_available"]  # type: ignore[attr-defined]
    assert record.shadow_attempts == 3  # type: ignore[attr-defined]
    assert _records(caplog, "settled") == []


async def test_rereads_zero_judges_the_first_difference(metric: Metric) -> None:
    product_id, primary, candidate = _write_between_reads()
    shadow = ShadowProductClient(primary, candidate, 1.0, rereads=0)
    before = _count(metric, "get_product", "mismatch")

    await shadow.get_product(product_id)
    await shadow.drain()

    assert candidate.calls == ["get_product"]
    assert _count(metric, "get_product", "mismatch") == before + 1
    with pytest.raises(ValueError, match="rereads"):
        ShadowProductClient(primary, candidate, 1.0, rereads=-1)


async def test_error_versus_value_is_re_read_like_any_difference(
    metric: Metric, caplog: pytest.LogCaptureFixture
) -> None:
    # The candidate says "not found" once (a product created between the reads),
    # then finds it: settled. A candidate that never finds it: a mismatch.
    found_later, never_found = uuid4(), uuid4()
    shadow_settles = ShadowProductClient(
        ChangingProducts(found_later, [5]), ChangingProducts(found_later, [None, 5]), 1.0
    )
    shadow_mismatches = ShadowProductClient(
        ChangingProducts(never_found, [5]), ChangingProducts(never_found, [None]), 1.0
    )
    before = {r: _count(metric, "get_product", r) for r in ("settled", "mismatch")}

    with caplog.at_level(logging.INFO, logger=SHADOW_LOGGER):
        await shadow_settles.get_product(found_later)
        await shadow_mismatches.get_product(never_found)
        await shadow_settles.drain()
        await shadow_mismatches.drain()

    assert _count(metric, "get_product", "settled") == before["settled"] + 1
    assert _count(metric, "get_product", "mismatch") == before["mismatch"] + 1
    [settled] = _records(caplog, "settled")
    assert settled.shadow_differences == ["<outcome>: value vs error"]  # type: ignore[attr-defined]
    [mismatch] = _records(caplog, "mismatch")
    assert mismatch.shadow_last_differences == [  # type: ignore[attr-defined]
        "<outcome>: value vs error"
    ]


async def test_a_re_read_the_candidate_fails_does_not_settle(
    metric: Metric, caplog: pytest.LogCaptureFixture
) -> None:
    product_id, primary, candidate = _write_between_reads()
    shadow = ShadowProductClient(primary, candidate, 1.0)
    before = _count(metric, "get_product", "mismatch")

    async def unavailable_after_first(method: str) -> None:
        candidate.calls.append(method)
        if len(candidate.calls) > 1:
            raise ProductsUnavailable("products went away")

    candidate._enter = unavailable_after_first  # type: ignore[method-assign]
    with caplog.at_level(logging.WARNING, logger=SHADOW_LOGGER):
        await shadow.get_product(product_id)
        await shadow.drain()

    assert len(candidate.calls) == 3
    assert _count(metric, "get_product", "mismatch") == before + 1
    [record] = _records(caplog, "mismatch")
    assert record.shadow_differences == ["stock_available"]  # type: ignore[attr-defined]
    assert record.shadow_last_differences == [  # type: ignore[attr-defined]
        "<re-read>: candidate_error"
    ]


async def test_a_re_read_is_bounded_by_the_timeout(metric: Metric) -> None:
    product_id, primary, candidate = _write_between_reads()
    _slow_after_first(candidate, 5.0)  # every re-read of the candidate hangs past the timeout
    shadow = ShadowProductClient(primary, candidate, 0.05)
    before = _count(metric, "get_product", "mismatch")
    await shadow.get_product(product_id)

    start = time.perf_counter()
    await shadow.drain()

    assert time.perf_counter() - start < 1.0  # two attempts of 0.05 s, not 5 s each
    assert len(candidate.calls) == 3
    assert _count(metric, "get_product", "mismatch") == before + 1


async def test_candidate_failures_are_never_re_read(metric: Metric) -> None:
    product_id = uuid4()
    candidate = FakeProducts({}, error=ProductsUnavailable("down"))
    shadow = ShadowProductClient(FakeProducts({product_id: _product(product_id)}), candidate, 1.0)

    await shadow.get_product(product_id)
    await shadow.drain()

    assert candidate.calls == ["get_product"]


async def test_re_reads_never_delay_the_caller_and_hold_their_in_flight_slot(
    metric: Metric,
) -> None:
    product_id, primary, candidate = _write_between_reads()
    _slow_after_first(candidate, 0.3)  # the re-read is slow
    shadow = ShadowProductClient(primary, candidate, 10.0, max_in_flight=1)
    skipped = _count(metric, "get_product", "skipped")
    settled = _count(metric, "get_product", "settled")

    await shadow.get_product(product_id)
    await asyncio.sleep(0.02)  # the first comparison found its difference; the re-read runs
    assert len(candidate.calls) == 2

    start = time.perf_counter()
    check = await shadow.get_product(product_id)
    elapsed = time.perf_counter() - start

    assert elapsed < 0.15  # answered by the primary while the re-read runs
    assert check.stock_available == 4
    # The re-reading comparison still holds the only slot: this read was not mirrored.
    assert shadow.pending_comparisons == 1
    assert _count(metric, "get_product", "skipped") == skipped + 1
    await shadow.drain()
    assert _count(metric, "get_product", "settled") == settled + 1
    assert len(candidate.calls) == 2
