"""Flipping APP_PRODUCTS_CLIENT is a restart: same data, same answers, in every direction."""

from functools import partial
from typing import Any
from uuid import UUID, uuid4

import pytest

from tests.integration.stack import Shop, Stack, eventually
from tests.support.processes import ServiceProcess

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

SHADOW_METRIC = "orders_product_client_shadow_comparisons"


def _views(shop: Shop, orders: ServiceProcess, user: str) -> dict[str, Any]:
    """What a consumer sees: the list and every order's detail."""
    listing = shop.all_orders(orders, user)
    details = {}
    for item in listing:
        response = shop.get(orders, user, f"/{item['id']}")
        assert response.status_code == 200, response.text
        details[item["id"]] = response.json()
    return {"list": listing, "details": details}


def _shadow_results(shop: Shop, orders: ServiceProcess) -> dict[str, float]:
    results: dict[str, float] = {}
    for labels, value in shop.metric_samples(orders, SHADOW_METRIC):
        results[labels["result"]] = results.get(labels["result"], 0.0) + value
    return results


def _compared(shop: Shop, orders: ServiceProcess) -> dict[str, float] | None:
    """The shadow results once at least one comparison matched."""
    results = _shadow_results(shop, orders)
    return results if results.get("match") else None


def test_orders_and_stock_survive_local_http_shadow_local(stack: Stack, shop: Shop) -> None:
    products = stack.start_products()
    user = f"flip-{uuid4().hex[:8]}"
    first, second = shop.add_product(products, stock=20), shop.add_product(products, stock=20)
    initial = {first: 20, second: 20}
    ordered: dict[UUID, int] = {first: 0, second: 0}
    previous: dict[str, Any] | None = None

    for mode in ("local", "http", "shadow", "local"):
        orders = stack.start_orders(mode, products, APP_SHADOW_TIMEOUT_SECONDS="5")

        seen = _views(shop, orders, user)
        if previous is not None:
            assert seen == previous, f"orders look different after restarting in {mode} mode"
        for product_id, quantity in initial.items():
            assert shop.stock(products, product_id) == quantity - ordered[product_id]

        quote = shop.post(
            orders, user, "/quote", {"items": [{"product_id": str(first), "quantity": 2}]}
        )
        assert quote.status_code == 200, quote.text
        placed = shop.place(orders, user, {first: 2, second: 1})
        assert placed.status_code == 201, f"{mode}: {placed.text}"
        assert placed.json()["status"] == "confirmed", mode
        ordered[first] += 2
        ordered[second] += 1
        for product_id, quantity in initial.items():
            assert shop.stock(products, product_id) == quantity - ordered[product_id]

        if mode == "shadow":
            # The quote's lookup was also sent to products over HTTP and compared.
            results = eventually(partial(_compared, shop, orders), timeout=10)
            assert results.get("mismatch", 0) == 0, results
            assert results.get("candidate_error", 0) == 0, results

        previous = _views(shop, orders, user)
        assert len(previous["list"]) == len(previous["details"])
        orders.stop()

    assert previous is not None
    assert len(previous["list"]) == 4
    assert {o["status"] for o in previous["list"]} == {"confirmed"}
