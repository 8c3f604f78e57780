"""Orders at, just under and just past every limit, in local and http mode, on PostgreSQL.

Whatever is sent: never a 5xx; an order that is saved can be read, listed,
summarised and cancelled; stock after a cancel or a refusal is what it was.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from uuid import uuid4

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from shop_contracts.limits import (
    MAX_DATE,
    MAX_LINE_QUANTITY,
    MAX_ORDER_TOTAL,
    MAX_PRICE,
    MAX_RESERVATION_LINES,
    MIN_DATE,
)
from tests.properties.conftest import Products, user_headers
from tests.properties.profiles import PROFILE

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ORDERS = "/api/v1/orders"
CENT = Decimal("0.01")

prices = st.one_of(
    st.sampled_from(
        [
            Decimal("0.00"),
            CENT,
            MAX_PRICE - CENT,
            MAX_PRICE,
            (MAX_ORDER_TOTAL - CENT) / 2,
            (MAX_ORDER_TOTAL + CENT) / 2,
            (MAX_ORDER_TOTAL / MAX_LINE_QUANTITY).quantize(CENT),
        ]
    ),
    st.decimals(min_value=0, max_value=MAX_PRICE, places=2),
)
quantities = st.one_of(
    st.sampled_from([0, 1, MAX_LINE_QUANTITY, MAX_LINE_QUANTITY + 1]),
    st.integers(min_value=1, max_value=MAX_LINE_QUANTITY),
)
stocks = st.one_of(
    st.sampled_from([0, 1, MAX_LINE_QUANTITY, 2 * MAX_LINE_QUANTITY]),
    st.integers(min_value=0, max_value=2 * MAX_LINE_QUANTITY),
)


@dataclass(frozen=True)
class Cart:
    """Up to three products (price, stock) and lines naming them by index."""

    shelf: list[tuple[Decimal, int]]
    lines: list[tuple[int, int]]

    def merged(self) -> dict[int, int]:
        """Units per product, repeated lines added up (what the services hold)."""
        units: dict[int, int] = {}
        for index, quantity in self.lines:
            units[index] = units.get(index, 0) + quantity
        return units

    def total(self) -> Decimal:
        """The exact order total."""
        return sum(
            (self.shelf[index][0] * units for index, units in self.merged().items()), Decimal(0)
        )

    def refusal(self, *, holding: bool) -> tuple[int, str] | None:
        """The status and code this cart must be refused with, or None if it is accepted."""
        if any(not 1 <= quantity <= MAX_LINE_QUANTITY for _, quantity in self.lines):
            return 422, "validation_error"
        if any(units > MAX_LINE_QUANTITY for units in self.merged().values()):
            return 422, "validation_error"
        # Products refuses a hold past the order total before it takes any stock.
        if self.total() > MAX_ORDER_TOTAL:
            return 422, "order_total_too_large"
        if holding and any(units > self.shelf[i][1] for i, units in self.merged().items()):
            return 409, "insufficient_stock"
        return None


carts = st.lists(st.tuples(prices, stocks), min_size=1, max_size=3).flatmap(
    lambda shelf: st.builds(
        Cart,
        st.just(shelf),
        st.lists(
            st.tuples(st.integers(0, len(shelf) - 1), quantities),
            min_size=1,
            max_size=min(4, MAX_RESERVATION_LINES),
        ),
    )
)


def _body(cart: Cart, ids: list[str]) -> dict[str, object]:
    return {"items": [{"product_id": ids[i], "quantity": q} for i, q in cart.lines]}


def _assert_answer(
    response_status: int, body: dict[str, object], expected: tuple[int, str]
) -> None:
    assert (response_status, body.get("code")) == expected, body


@PROFILE
@given(cart=carts)
def test_any_cart_is_priced_placed_read_and_cancelled_or_refused_whole(
    orders: httpx.Client, products: Products, cart: Cart
) -> None:
    ids = [products.add(price=price, stock=stock) for price, stock in cart.shelf]
    user = f"prop-{uuid4().hex[:12]}"
    headers = user_headers(user)

    quoted = orders.post(f"{ORDERS}/quote", json=_body(cart, ids), headers=headers)
    expected_quote = cart.refusal(holding=False)
    if expected_quote is None:
        assert quoted.status_code == 200, quoted.text
        assert Decimal(quoted.json()["subtotal"]) == cart.total()
    else:
        _assert_answer(quoted.status_code, quoted.json(), expected_quote)

    key = {**headers, "Idempotency-Key": uuid4().hex}
    placed = orders.post(ORDERS, json=_body(cart, ids), headers=key)
    replayed = orders.post(ORDERS, json=_body(cart, ids), headers=key)
    expected = cart.refusal(holding=True)
    if expected is not None:
        _assert_answer(placed.status_code, placed.json(), expected)
        _assert_answer(replayed.status_code, replayed.json(), expected)
    else:
        assert (placed.status_code, replayed.status_code) == (201, 200), placed.text
        order_id = placed.json()["id"]
        read = orders.get(f"{ORDERS}/{order_id}", headers=headers)
        listed = orders.get(ORDERS, headers=headers)
        summary = orders.get(f"{ORDERS}/summary", headers=headers)
        assert read.status_code == 200, read.text
        assert Decimal(read.json()["total"]) == cart.total()
        assert [item["id"] for item in listed.json()["items"]] == [order_id]
        assert summary.status_code == 200, summary.text
        assert Decimal(summary.json()["total_spent"]) == cart.total()
        cancelled = orders.post(f"{ORDERS}/{order_id}/cancel", json={}, headers=headers)
        assert cancelled.status_code == 200, cancelled.text

    # Refused or cancelled, every unit is back on the shelf.
    assert [products.stock(i) for i in ids] == [stock for _, stock in cart.shelf]


dates = st.one_of(st.sampled_from([MIN_DATE, MAX_DATE]), st.dates(MIN_DATE, MAX_DATE))


@PROFILE
@given(start=st.none() | dates, end=st.none() | dates, currency=st.none() | st.just("EUR"))
def test_a_summary_over_any_dates_answers(
    orders: httpx.Client, start: date | None, end: date | None, currency: str | None
) -> None:
    params = {
        name: value.isoformat() if isinstance(value, date) else value
        for name, value in (("start_date", start), ("end_date", end), ("currency", currency))
        if value is not None
    }

    response = orders.get(f"{ORDERS}/summary", params=params, headers=user_headers("dates"))

    assert response.status_code == 200, response.text
    assert response.json()["total_orders"] == 0
