"""Limits hold on real processes: orders in http mode in front of products, as operators run them."""

from uuid import uuid4

import pytest

from shop_contracts.limits import MAX_HEADER_BYTES, MAX_PRICE
from tests.integration.stack import API, Shop, Stack
from tests.support.processes import ServiceProcess

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def test_limits_hold_on_real_processes(stack: Stack, shop: Shop) -> None:
    """One stack for both checks: starting processes is the slow part."""
    products = stack.start_products()
    orders = stack.start_orders("http", products)
    _oversized_headers_are_refused_with_431_by_both_services(products.url, orders.url, shop)
    _an_order_past_the_total_limit_is_refused_and_its_hold_returned(products, orders, shop)


def _oversized_headers_are_refused_with_431_by_both_services(
    products_url: str, orders_url: str, shop: Shop
) -> None:
    for base in (f"{products_url}{API}/products", f"{orders_url}/health/live"):
        just_under = shop.http.get(base, headers={"X-Padding": "a" * (MAX_HEADER_BYTES - 2_000)})
        over = shop.http.get(base, headers={"X-Padding": "a" * (MAX_HEADER_BYTES + 1)})
        # What the report sent: one 8 MB header, which the server used to accept.
        huge = shop.http.get(base, headers={"X-Padding": "a" * 8_000_000})

        assert just_under.status_code == 200
        for refused in (over, huge):
            assert refused.status_code == 431
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.json()["code"] == "headers_too_large"


def _an_order_past_the_total_limit_is_refused_and_its_hold_returned(
    products: ServiceProcess, orders: ServiceProcess, shop: Shop
) -> None:
    gold = shop.add_product(products, stock=10, price=str(MAX_PRICE))
    user = f"limits-{uuid4().hex[:8]}"

    first = shop.place(orders, user, {gold: 2}, key="too-big")
    retried = shop.place(orders, user, {gold: 2}, key="too-big")
    listed = shop.get(orders, user)
    summary = shop.get(orders, user, "/summary")

    for response in (first, retried):
        assert (response.status_code, response.json()["code"]) == (422, "order_total_too_large")
    assert (listed.status_code, listed.json()["total"]) == (200, 0)
    assert (summary.status_code, summary.json()["total_orders"]) == (200, 0)
    assert shop.stock(products, gold) == 10
