"""A refused order keeps nothing and uses up no Idempotency-Key (ADR 0020)."""

from fakes import FakeProductClient
from harness import OrdersApi

from orders.domain.order import reservation_key
from shop_contracts.limits import MAX_PRICE
from shop_contracts.reservations import ReservationLineRequest as Line
from shop_contracts.reservations import ReservationStatus

KEY_REUSED = "This key was already used with a different request; a new request needs a new key"


async def test_a_cart_of_two_currencies_is_mixed_currencies_and_its_key_stays_free(
    api: OrdersApi, products: FakeProductClient
) -> None:
    euro, dollar = products.add(currency="EUR"), products.add(currency="USD")

    refused = await api.place("alice", [(euro.id, 1), (dollar.id, 1)], key="cart-1")
    corrected = await api.place("alice", [(euro.id, 1)], key="cart-1")

    assert (refused.status_code, refused.json()["code"]) == (422, "mixed_currencies")
    assert refused.json()["currencies"] == ["EUR", "USD"]
    assert corrected.status_code == 201, corrected.text
    assert products.statuses() == [ReservationStatus.CONFIRMED]


async def test_a_quote_of_two_currencies_is_mixed_currencies_too(
    api: OrdersApi, products: FakeProductClient
) -> None:
    euro, dollar = products.add(currency="EUR"), products.add(currency="USD")
    cart = {"items": [{"product_id": str(p.id), "quantity": 1} for p in (euro, dollar)]}

    quoted = await api.http.post("/api/v1/orders/quote", json=cart, headers=api.auth("alice"))

    assert (quoted.status_code, quoted.json()["code"]) == (422, "mixed_currencies")
    assert quoted.json()["currencies"] == ["EUR", "USD"]


async def test_a_total_past_the_limit_leaves_the_key_free(
    api: OrdersApi, products: FakeProductClient
) -> None:
    gold = products.add(stock=5, price=str(MAX_PRICE))

    refused = await api.place("alice", [(gold.id, 2)], key="gold")
    corrected = await api.place("alice", [(gold.id, 1)], key="gold")

    assert (refused.status_code, refused.json()["code"]) == (422, "order_total_too_large")
    assert corrected.status_code == 201, corrected.text
    assert products.stock[gold.id] == 4


async def test_an_unknown_product_leaves_the_key_free(
    api: OrdersApi, products: FakeProductClient
) -> None:
    mug, gone = products.add(), products.add()
    del products.products[gone.id]

    refused = await api.place("alice", [(mug.id, 1), (gone.id, 1)], key="k")
    corrected = await api.place("alice", [(mug.id, 1)], key="k")

    assert (refused.status_code, corrected.status_code) == (404, 201)


async def test_a_products_that_holds_a_mixed_cart_anyway_gets_its_hold_back(
    api: OrdersApi, products: FakeProductClient
) -> None:
    # A products of an older release holds such a cart; orders still saves nothing.
    products.checks_prices = False
    euro, dollar = products.add(currency="EUR"), products.add(currency="USD")

    refused = await api.place("alice", [(euro.id, 1), (dollar.id, 1)], key="old")

    assert (refused.status_code, refused.json()["code"]) == (422, "mixed_currencies")
    assert products.statuses() == [ReservationStatus.RELEASED]
    assert (products.stock[euro.id], products.stock[dollar.id]) == (10, 10)


async def test_a_reused_key_reads_the_same_whether_orders_or_products_decided(
    api: OrdersApi, products: FakeProductClient
) -> None:
    mug = products.add(stock=5)
    await api.place("alice", [(mug.id, 1)], key="placed")
    # A hold under the key with no order yet (a concurrent first request): products decides.
    await products.reserve(reservation_key("alice", "held"), [Line(product_id=mug.id, quantity=1)])

    after_order = await api.place("alice", [(mug.id, 2)], key="placed")
    after_hold = await api.place("alice", [(mug.id, 2)], key="held")

    for response in (after_order, after_hold):
        assert (response.status_code, response.json()["code"]) == (422, "idempotency_key_reused")
        assert response.json()["detail"] == KEY_REUSED
