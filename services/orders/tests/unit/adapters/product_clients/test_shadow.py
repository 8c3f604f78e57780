"""The products comparer in shadow mode: product DTOs field by field, contract errors by ids."""

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

import pytest

from orders.adapters.product_clients.boundary import COMPARER, METHODS
from orders.adapters.product_clients.metrics import SEAM
from orders.domain.product_client import ProductServiceClient
from seam import Shadow, client, compose, on
from shop_contracts.errors import ProductNotFound, ProductsUnavailable, ReservationNotFound
from shop_contracts.products import Product, ProductLookup, StockCheck
from shop_contracts.reservations import (
    Reservation,
    ReservationLine,
    ReservationLineRequest,
    ReservationStatus,
)

Metric = Callable[..., float]
NOW = datetime(2026, 1, 1, tzinfo=UTC)
SHADOW_LOGGER = "seam.shadow"
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
    """An in-memory ProductServiceClient with a configurable failure."""

    def __init__(
        self,
        products: dict[UUID, Product],
        *,
        error: Exception | None = None,
        reservation_status: ReservationStatus = ReservationStatus.HELD,
    ) -> None:
        self.products = products
        self.error = error
        self.reservation_status = reservation_status
        self.calls: list[str] = []

    async def _enter(self, method: str) -> None:
        self.calls.append(method)
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


def _shadowed(
    primary: FakeProducts, candidate: FakeProducts
) -> tuple[ProductServiceClient, Shadow]:
    """What shadow mode serves: the primary, its reads compared with the candidate's."""
    shadow = Shadow(on(candidate), COMPARER, SEAM, 1.0)
    served: ProductServiceClient = client(
        METHODS, compose([shadow.at(1.0)], on(primary)), "ShadowedProducts"
    )
    return served, shadow


def _mismatches(caplog: pytest.LogCaptureFixture) -> list[object]:
    return [getattr(r, "shadow_differences", None) for r in caplog.records]


async def test_identical_products_are_a_match(metric: Metric) -> None:
    product_id = uuid4()
    catalogue = {product_id: _product(product_id)}
    shadowed, shadow = _shadowed(FakeProducts(catalogue), FakeProducts(dict(catalogue)))
    matches = _count(metric, "get_product", "match")

    await shadowed.get_product(product_id)
    await shadow.drain()

    assert _count(metric, "get_product", "match") == matches + 1


async def test_a_different_price_is_a_mismatch_on_that_field_but_caller_gets_primary(
    metric: Metric, caplog: pytest.LogCaptureFixture
) -> None:
    product_id = uuid4()
    primary = FakeProducts({product_id: _product(product_id, "19.90")})
    candidate = FakeProducts({product_id: _product(product_id, "18.00")})
    shadowed, shadow = _shadowed(primary, candidate)
    before = _count(metric, "get_product", "mismatch")

    with caplog.at_level("WARNING", logger=SHADOW_LOGGER):
        product = await shadowed.get_product(product_id)
        await shadow.drain()

    assert product.price == Decimal("19.90")
    assert _count(metric, "get_product", "mismatch") == before + 1
    assert _mismatches(caplog) == [["price"]]


async def test_the_same_not_found_on_both_sides_is_a_match(metric: Metric) -> None:
    shadowed, shadow = _shadowed(FakeProducts({}), FakeProducts({}))
    before = _count(metric, "get_product", "match")

    with pytest.raises(ProductNotFound):
        await shadowed.get_product(uuid4())
    await shadow.drain()

    assert _count(metric, "get_product", "match") == before + 1


async def test_errors_differing_only_in_their_detail_are_a_match(metric: Metric) -> None:
    asked = uuid4()
    candidate = FakeProducts({}, error=ProductNotFound([asked], detail="other prose"))
    shadowed, shadow = _shadowed(FakeProducts({}), candidate)
    before = _count(metric, "get_product", "match")

    with pytest.raises(ProductNotFound):
        await shadowed.get_product(asked)
    await shadow.drain()

    assert _count(metric, "get_product", "match") == before + 1


@pytest.mark.parametrize(
    ("candidate_error", "difference"),
    [
        (ProductNotFound([uuid4()]), "<error>.product_ids"),
        (ReservationNotFound(uuid4()), "<error>: ProductNotFound vs ReservationNotFound"),
    ],
)
async def test_different_error_ids_or_types_are_a_mismatch(
    metric: Metric,
    caplog: pytest.LogCaptureFixture,
    candidate_error: Exception,
    difference: str,
) -> None:
    shadowed, shadow = _shadowed(FakeProducts({}), FakeProducts({}, error=candidate_error))
    before = _count(metric, "get_product", "mismatch")

    with caplog.at_level("WARNING", logger=SHADOW_LOGGER):
        with pytest.raises(ProductNotFound):
            await shadowed.get_product(uuid4())
        await shadow.drain()

    assert _count(metric, "get_product", "mismatch") == before + 1
    assert _mismatches(caplog)[0] == [difference]


async def test_a_different_reservation_id_is_a_mismatch(caplog: pytest.LogCaptureFixture) -> None:
    primary = FakeProducts({}, error=ReservationNotFound(uuid4()))
    candidate = FakeProducts({}, error=ReservationNotFound(uuid4()))
    shadowed, shadow = _shadowed(primary, candidate)

    with caplog.at_level("WARNING", logger=SHADOW_LOGGER):
        with pytest.raises(ReservationNotFound):
            await shadowed.get_reservation(uuid4())
        await shadow.drain()

    assert _mismatches(caplog)[0] == ["<error>.reservation_id"]


async def test_unavailable_products_is_a_candidate_error_not_a_mismatch(metric: Metric) -> None:
    product_id = uuid4()
    primary = FakeProducts({product_id: _product(product_id)})
    candidate = FakeProducts({}, error=ProductsUnavailable("down"))
    shadowed, shadow = _shadowed(primary, candidate)
    errors = _count(metric, "get_product", "candidate_error")
    mismatches = _count(metric, "get_product", "mismatch")

    assert (await shadowed.get_product(product_id)).id == product_id
    await shadow.drain()

    assert _count(metric, "get_product", "candidate_error") == errors + 1
    assert _count(metric, "get_product", "mismatch") == mismatches
    assert candidate.calls == ["get_product"]  # never re-read


@pytest.mark.parametrize("method", ["lookup_products", "check_stock", "get_reservation"])
async def test_every_read_is_shadowed(method: str, metric: Metric) -> None:
    product_id = uuid4()
    catalogue = {product_id: _product(product_id)}
    primary, candidate = FakeProducts(catalogue), FakeProducts(dict(catalogue))
    shadowed, shadow = _shadowed(primary, candidate)
    before = _count(metric, method, "match")
    calls: dict[str, Callable[[], Awaitable[object]]] = {
        "lookup_products": lambda: shadowed.lookup_products([product_id, uuid4()]),
        "check_stock": lambda: shadowed.check_stock(product_id, 1),
        "get_reservation": lambda: shadowed.get_reservation(product_id),
    }

    await calls[method]()
    await shadow.drain()

    assert candidate.calls == [method]
    assert _count(metric, method, "match") == before + 1


async def test_reservation_state_difference_is_a_mismatch(metric: Metric) -> None:
    primary = FakeProducts({}, reservation_status=ReservationStatus.CONFIRMED)
    candidate = FakeProducts({}, reservation_status=ReservationStatus.HELD)
    shadowed, shadow = _shadowed(primary, candidate)
    before = _count(metric, "get_reservation", "mismatch")

    reservation = await shadowed.get_reservation(uuid4())
    await shadow.drain()

    assert reservation.status is ReservationStatus.CONFIRMED
    assert _count(metric, "get_reservation", "mismatch") == before + 1


async def test_writes_never_reach_the_candidate() -> None:
    primary, candidate = FakeProducts({}), FakeProducts({})
    shadowed, shadow = _shadowed(primary, candidate)

    await shadowed.reserve("k", [ReservationLineRequest(product_id=uuid4(), quantity=1)])
    await shadowed.confirm(uuid4())
    await shadowed.release(uuid4())
    await shadowed.release_by_key("k")
    await shadow.drain()

    assert primary.calls == ["reserve", "confirm", "release", "release_by_key"]
    assert candidate.calls == []
