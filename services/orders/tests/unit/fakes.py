"""In-memory fakes that behave like the real collaborators (same errors, same idempotency)."""

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

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
from shop_contracts.limits import MAX_ORDER_TOTAL
from shop_contracts.products import Product, ProductLookup, StockCheck
from shop_contracts.reservations import (
    Reservation,
    ReservationLine,
    ReservationLineRequest,
    ReservationStatus,
)


@dataclass
class _Held:
    reservation: Reservation
    lines: tuple[tuple[UUID, int], ...]


@dataclass
class FakeProductClient:
    """``ProductServiceClient`` over dicts, with the facade's semantics.

    Same key + same lines → the same reservation in whatever state; different
    lines → ``IdempotencyKeyReused``; stock never negative; confirm/release
    idempotent; ``expire`` simulates the TTL sweeper. Set ``down`` to make every
    call raise ``ProductsUnavailable``, or ``fail_next["confirm"] = n`` for the
    next n calls of one method; ``lose_answer["reserve"] = n`` makes the next n
    reserves take effect and then fail as a timeout after sending would.
    Like products, a hold over several currencies or past the order total is
    refused before anything is kept; ``checks_prices = False`` plays a products
    that does not refuse it (orders' backstop).
    """

    ttl: timedelta = timedelta(minutes=15)
    down: bool = False
    fail_next: Counter[str] = field(default_factory=Counter)
    lose_answer: Counter[str] = field(default_factory=Counter)
    products: dict[UUID, Product] = field(default_factory=dict)
    stock: dict[UUID, int] = field(default_factory=dict)
    by_key: dict[str, _Held] = field(default_factory=dict)
    by_id: dict[UUID, _Held] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    checks_prices: bool = True
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def add(
        self, *, stock: int = 10, price: str = "9.99", name: str = "Mug", currency: str = "EUR"
    ) -> Product:
        """Put a product on the shelf."""
        now = datetime.now(UTC)
        product = Product(
            id=uuid4(),
            sku=f"SKU-{uuid4().hex[:8]}",
            name=name,
            description="",
            price=Decimal(price),
            currency=currency,
            stock_available=stock,
            created_at=now,
            updated_at=now,
        )
        self.products[product.id] = product
        self.stock[product.id] = stock
        return product

    def _check_up(self, method: str) -> None:
        self.calls.append(method)
        if self.fail_next[method] > 0:
            self.fail_next[method] -= 1
            raise ProductsUnavailable("products is down (fake)", retry_after=2)
        if self.down:
            raise ProductsUnavailable("products is down (fake)", retry_after=2)

    def _product(self, product_id: UUID) -> Product:
        product = self.products[product_id]
        return product.model_copy(update={"stock_available": self.stock[product_id]})

    async def get_product(self, product_id: UUID) -> Product:
        self._check_up("get_product")
        if product_id not in self.products:
            raise ProductNotFound([product_id])
        return self._product(product_id)

    async def lookup_products(self, product_ids: Sequence[UUID]) -> ProductLookup:
        self._check_up("lookup_products")
        unique = list(dict.fromkeys(product_ids))
        return ProductLookup(
            items=[self._product(pid) for pid in unique if pid in self.products],
            missing=[pid for pid in unique if pid not in self.products],
        )

    async def check_stock(self, product_id: UUID, quantity: int) -> StockCheck:
        product = await self.get_product(product_id)
        return StockCheck(
            product_id=product_id,
            requested=quantity,
            stock_available=product.stock_available,
            available=product.stock_available >= quantity,
        )

    async def reserve(
        self, reservation_key: str, lines: Sequence[ReservationLineRequest]
    ) -> Reservation:
        self._check_up("reserve")
        wanted = tuple(sorted(((ln.product_id, ln.quantity) for ln in lines), key=str))
        async with self._lock:
            held = self.by_key.get(reservation_key)
            if held is not None:
                if not held.lines and held.reservation.status is ReservationStatus.RELEASED:
                    return held.reservation  # the key was released before this hold
                if held.lines != wanted:
                    raise IdempotencyKeyReused()
                return held.reservation
            missing = [pid for pid, _ in wanted if pid not in self.products]
            if missing:
                raise ProductNotFound(missing)
            if self.checks_prices:
                self._check_prices(wanted)
            short = [pid for pid, qty in wanted if self.stock[pid] < qty]
            if short:
                raise InsufficientStock(short)
            for pid, qty in wanted:
                self.stock[pid] -= qty
            now = datetime.now(UTC)
            reservation = Reservation(
                id=uuid4(),
                key=reservation_key,
                status=ReservationStatus.HELD,
                expires_at=now + self.ttl,
                created_at=now,
                lines=[
                    ReservationLine(
                        product_id=pid,
                        quantity=qty,
                        product_name=self.products[pid].name,
                        unit_price=self.products[pid].price,
                        currency=self.products[pid].currency,
                    )
                    for pid, qty in wanted
                ],
            )
            held = _Held(reservation, wanted)
            self.by_key[reservation_key] = held
            self.by_id[reservation.id] = held
        if self.lose_answer["reserve"] > 0:
            self.lose_answer["reserve"] -= 1
            raise ProductsUnavailable("products did not answer (fake)", maybe_applied=True)
        return reservation

    def _check_prices(self, wanted: tuple[tuple[UUID, int], ...]) -> None:
        currencies = {self.products[pid].currency for pid, _ in wanted}
        if len(currencies) > 1:
            raise MixedCurrencies(currencies)
        total = sum((self.products[pid].price * qty for pid, qty in wanted), Decimal(0))
        if total > MAX_ORDER_TOTAL:
            raise OrderTotalTooLarge(total)

    def _set(self, held: _Held, status: ReservationStatus) -> Reservation:
        held.reservation = held.reservation.model_copy(update={"status": status})
        return held.reservation

    def _held(self, reservation_id: UUID) -> _Held:
        held = self.by_id.get(reservation_id)
        if held is None:
            raise ReservationNotFound(reservation_id)
        return held

    async def confirm(self, reservation_id: UUID) -> Reservation:
        self._check_up("confirm")
        held = self._held(reservation_id)
        status = held.reservation.status
        if status is ReservationStatus.EXPIRED:
            raise ReservationExpired(reservation_id)
        if status is ReservationStatus.RELEASED:
            raise ReservationReleased(reservation_id)
        return self._set(held, ReservationStatus.CONFIRMED)

    async def release(self, reservation_id: UUID) -> Reservation:
        self._check_up("release")
        held = self._held(reservation_id)
        if held.reservation.status in (ReservationStatus.HELD, ReservationStatus.CONFIRMED):
            for pid, qty in held.lines:
                self.stock[pid] += qty
            return self._set(held, ReservationStatus.RELEASED)
        return held.reservation

    async def release_by_key(self, reservation_key: str) -> Reservation:
        self._check_up("release_by_key")
        async with self._lock:
            held = self.by_key.get(reservation_key)
            if held is None:
                now = datetime.now(UTC)
                retired = Reservation(
                    id=uuid4(),
                    key=reservation_key,
                    status=ReservationStatus.RELEASED,
                    expires_at=now,
                    created_at=now,
                    lines=[],
                )
                held = _Held(retired, ())
                self.by_key[reservation_key] = held
                self.by_id[retired.id] = held
                return retired
            if held.reservation.status in (ReservationStatus.HELD, ReservationStatus.CONFIRMED):
                for pid, qty in held.lines:
                    self.stock[pid] += qty
                return self._set(held, ReservationStatus.RELEASED)
            return held.reservation

    async def get_reservation(self, reservation_id: UUID) -> Reservation:
        self._check_up("get_reservation")
        return self._held(reservation_id).reservation

    def expire(self, reservation_id: UUID) -> None:
        """What the sweeper does to a hold whose TTL ran out."""
        held = self._held(reservation_id)
        if held.reservation.status is ReservationStatus.HELD:
            for pid, qty in held.lines:
                self.stock[pid] += qty
            self._set(held, ReservationStatus.EXPIRED)

    def statuses(self) -> list[ReservationStatus]:
        """The status of every reservation ever made."""
        return [held.reservation.status for held in self.by_id.values()]


@dataclass
class RecordingNotifier:
    """``NotificationPort`` that remembers what it sent (keyed, so duplicates are visible)."""

    emails: list[tuple[str, str, str]] = field(default_factory=list)
    texts: list[tuple[str, str]] = field(default_factory=list)

    async def send_email(self, to: str, subject: str, body: str, *, dedupe_key: str) -> None:
        self.emails.append((to, subject, dedupe_key))

    async def send_sms(self, to: str, body: str, *, dedupe_key: str) -> None:
        self.texts.append((to, dedupe_key))
